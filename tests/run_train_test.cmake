# run_train_test.cmake: `aplcl train` must learn: a short yeast run's final test mAP has to beat
# the constant-score (label frequency) baseline by MIN_GAIN. Run by CTest with
#   -DAPLCL=<tool> -DDATA=<data/yeast> -DOUT=<scratch dir> -DLOSS=<loss list> -DMIN_GAIN=<x>
#   [-DHIDDEN=<units>]
if(NOT DEFINED HIDDEN)
    set(HIDDEN 0)
endif()
execute_process(
    COMMAND "${APLCL}" train "${DATA}/yeast-train.arff" "${DATA}/yeast-test.arff" --labels 14
            --epochs 8 --hidden ${HIDDEN} --loss "${LOSS}" --seed 3 --csv "${OUT}/train.csv"
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "aplcl train failed (${rc}): ${err}")
endif()
string(REGEX MATCH "baseline[^\n]* ([0-9.]+)\n" _ "${out}")
set(baseline "${CMAKE_MATCH_1}")
file(STRINGS "${OUT}/train.csv" rows)
list(LENGTH rows n)
if(n LESS 2 OR baseline STREQUAL "")
    message(FATAL_ERROR "no results (csv rows ${n}, baseline '${baseline}')")
endif()
# "0.433412" -> 433412 (parts per million; CMake has no floats)
function(to_ppm value out)
    string(REGEX MATCH "^0\\.([0-9]*)" _ "${value}")
    string(SUBSTRING "${CMAKE_MATCH_1}000000" 0 6 digits)
    string(REGEX REPLACE "^0+" "" digits "${digits}")
    if(digits STREQUAL "")
        set(digits 0)
    endif()
    set(${out} ${digits} PARENT_SCOPE)
endfunction()

foreach(row IN LISTS rows)
    if(row MATCHES "^loss,")
        continue()
    endif()
    string(REPLACE "," ";" f "${row}")
    list(GET f 0 loss)
    list(GET f 2 epoch)
    list(GET f 4 map)
    if(epoch EQUAL 8)
        to_ppm("${map}" m)
        to_ppm("${baseline}" b)
        to_ppm("${MIN_GAIN}" g)
        math(EXPR need "${b} + ${g}")
        if(m LESS need)
            message(FATAL_ERROR "${loss}: test mAP ${map} is not ${MIN_GAIN} above the baseline ${baseline}")
        endif()
        message(STATUS "${loss}: test mAP ${map} > baseline ${baseline} + ${MIN_GAIN}")
    endif()
endforeach()
