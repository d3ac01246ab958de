# run_bench_shard_test.cmake: `aplcl bench shard` on a small extreme problem (10^5 labels) with
# one rank and under `mpirun -n 2`: both must run, rank 0's W + Adam state must be half of the
# whole model's at R = 2 (all of it at R = 1), and the loss summed over the ranks must match the
# one-rank loss to 1e-5; ranks given different shapes must stop. Run by CTest:
#   -DAPLCL=<tool> -DMPIEXEC=<mpiexec>
set(args bench shard --shape 16x8x100000 --positives 4 --reps 1)

function(run_bench out_var)
    execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                    TIMEOUT 240)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "exit ${rc}:\n${out}\n${err}")
    endif()
    message("${out}")
    set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# "4103.667969" -> 4103667969 (the bench prints 6 decimals)
function(loss_of text out_var)
    if(NOT text MATCHES "loss ([0-9]+)\\.([0-9][0-9][0-9][0-9][0-9][0-9]),")
        message(FATAL_ERROR "no loss line in:\n${text}")
    endif()
    set(v "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
    string(REGEX REPLACE "^0+([0-9])" "\\1" v "${v}")
    set(${out_var} "${v}" PARENT_SCOPE)
endfunction()

run_bench(one "${APLCL}" ${args})
run_bench(two "${MPIEXEC}" -n 2 --allow-run-as-root --oversubscribe "${APLCL}" ${args})
if(NOT one MATCHES "on rank 0: [0-9.]+ MiB = 1\\.000 of")
    message(FATAL_ERROR "one rank does not hold the whole model")
endif()
if(NOT two MATCHES "on rank 0: [0-9.]+ MiB = 0\\.500 of")
    message(FATAL_ERROR "at R = 2, rank 0's W + Adam state is not half of the model")
endif()
loss_of("${one}" a)
loss_of("${two}" b)
math(EXPR d "${a} - ${b}")
if(d LESS 0)
    math(EXPR d "-${d}")
endif()
math(EXPR tol "${a} / 100000 + 1")
if(d GREATER tol)
    message(FATAL_ERROR "the 2-rank loss (${b}) differs from the 1-rank loss (${a}) by ${d}")
endif()
message("R = 2 halves W + Adam per rank; loss ${b} vs ${a} (micro-units)")

# ranks given different problems must stop, not sum arrays of different sizes into a report
execute_process(
    COMMAND timeout -k 10 120 "${MPIEXEC}" --allow-run-as-root --oversubscribe
            -n 1 "${APLCL}" bench shard --shape 16x8x1000 --reps 1
            : -n 1 "${APLCL}" bench shard --shape 16x8x2000 --reps 1
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc EQUAL 0 OR rc EQUAL 124 OR rc EQUAL 137 OR NOT err MATCHES "the ranks differ in --shape")
    message(FATAL_ERROR "ranks with different --shape: exit ${rc}\n${out}\n${err}")
endif()
message("ranks with different --shape stop: exit ${rc}")
