# run_parallel_train_test.cmake: `aplcl train --parallel` must give the one-process result.
#
# A short yeast run (hidden layer, so labels mode sums dX) as one plain process, then under
# `mpirun -n 2` with --parallel data and labels, and in one process over two contexts of one
# device (--devices): every epoch's train loss, test mAP, micro- and macro-F1 must match the plain
# run's within TOL_PPM millionths (float-summation order). Then a rank that fails (rank 1 asks for
# a device that does not exist) must stop the run, naming its rank, without a hang. Run by CTest:
#   -DAPLCL=<tool> -DDATA=<data/yeast> -DOUT=<dir> -DMPIEXEC=<mpiexec> -DTOL_PPM=<n>
set(common train "${DATA}/yeast-train.arff" "${DATA}/yeast-test.arff" --labels 14 --epochs 3
    --hidden 16 --seed 3 --quiet)
set(mpi "${MPIEXEC}" -n 2 --allow-run-as-root --oversubscribe)

function(run_case name)
    execute_process(COMMAND ${ARGN} --csv "${OUT}/${name}.csv" OUTPUT_VARIABLE out
                    ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 240)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${name}: exit ${rc}\n${out}\n${err}")
    endif()
    message("${name}:\n${out}")
endfunction()

# "2.114144" -> 2114144 (the CSV has 6 decimals; CMake has no floats)
function(micro value out)
    string(REPLACE "." "" digits "${value}")
    string(REGEX REPLACE "^(-?)0+([0-9])" "\\1\\2" digits "${digits}")
    set(${out} "${digits}" PARENT_SCOPE)
endfunction()

function(compare name)
    file(STRINGS "${OUT}/one.csv" want)
    file(STRINGS "${OUT}/${name}.csv" got)
    list(LENGTH want n)
    list(LENGTH got m)
    if(NOT n EQUAL m OR n LESS 4)
        message(FATAL_ERROR "${name}: ${m} CSV lines, the plain run has ${n}")
    endif()
    math(EXPR last "${n} - 1")
    foreach(i RANGE 1 ${last})
        list(GET want ${i} w)
        list(GET got ${i} g)
        string(REPLACE "," ";" w "${w}")
        string(REPLACE "," ";" g "${g}")
        foreach(f 3 4 5 6) # train loss, mAP, micro-F1, macro-F1
            list(GET w ${f} a)
            list(GET g ${f} b)
            micro(${a} ia)
            micro(${b} ib)
            math(EXPR d "${ia} - ${ib}")
            if(d LESS 0)
                math(EXPR d "-${d}")
            endif()
            if(d GREATER TOL_PPM)
                message(FATAL_ERROR "${name}: line ${i} field ${f}: ${b} vs ${a} (plain run)")
            endif()
        endforeach()
    endforeach()
    message("${name}: every epoch's metrics within ${TOL_PPM} ppm of the plain run")
endfunction()

run_case(one "${APLCL}" ${common})
run_case(data ${mpi} "${APLCL}" ${common} --parallel data)
run_case(labels ${mpi} "${APLCL}" ${common} --parallel labels)
run_case(devices "${APLCL}" ${common} --parallel labels --devices 0:0,0:0)
compare(data)
compare(labels)
compare(devices)

# rank 1 fails: every rank must stop (MPI_Abort), with the rank and the reason on stderr
execute_process(
    COMMAND "${MPIEXEC}" --allow-run-as-root --oversubscribe -n 1 "${APLCL}" ${common}
            --parallel data : -n 1 "${APLCL}" ${common} --parallel data --devices 999:0
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 120)
if(rc EQUAL 0 OR rc MATCHES "timeout")
    message(FATAL_ERROR "a failing rank did not stop the run (${rc})\n${err}")
endif()
if(NOT err MATCHES "rank 1 of 2: device '999:0'")
    message(FATAL_ERROR "the failing rank did not say which and why:\n${err}")
endif()
message("a failing rank stops every rank: ${rc}")
