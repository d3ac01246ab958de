# run_parallel_fail_test.cmake: under `mpirun -n 2 aplcl train --parallel`, one rank that fails at
# any stage must stop every rank (MPI_Abort), with a message, never leave the other waiting in a
# collective. Each case starts the two ranks with different arguments (mpirun's "A : B" form)
# under `timeout`, so that a hang fails the case instead of blocking CTest:
#   options  rank 1 stops at --help, at a bad --parallel value, or with another --lr (labels)
#   device   rank 1 asks for a device that does not exist
#   data     rank 1 cannot open or parse its training file, or loads different training rows
#   epoch    rank 1's `adam` kernel fails in the first batch (fail_kernel_shim, LD_PRELOAD)
#   output   rank 0's --out cannot be created; rank 0's stdout is /dev/full
# Run by CTest:
#   -DAPLCL=<tool> -DDATA=<data/yeast> -DOUT=<dir> -DMPIEXEC=<mpiexec> -DSHIM=<shim.so>
#   -DCASE_TIMEOUT=<seconds a case may take before it counts as a hang>
cmake_policy(SET CMP0007 NEW) # list() keeps empty elements (the subset file below)
set(ok train "${DATA}/yeast-train.arff" "${DATA}/yeast-test.arff" --labels 14 --epochs 1 --quiet)

# fail_case(NAME REGEX RANK0 args... RANK1 args...): both ranks' commands in full
function(fail_case name regex)
    cmake_parse_arguments(C "" "" "RANK0;RANK1" ${ARGN})
    string(TIMESTAMP t0 "%s")
    execute_process(
        COMMAND timeout -k 10 ${CASE_TIMEOUT} "${MPIEXEC}" --allow-run-as-root --oversubscribe
                -n 1 ${C_RANK0} : -n 1 ${C_RANK1}
        OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    string(TIMESTAMP t1 "%s")
    math(EXPR dt "${t1} - ${t0}")
    if(rc EQUAL 124 OR rc EQUAL 137)
        message(FATAL_ERROR "${name}: no exit within ${CASE_TIMEOUT} s: a rank waits for one "
                            "that failed\n${err}")
    endif()
    if(rc EQUAL 0)
        message(FATAL_ERROR "${name}: exit status 0, a failure was expected\n${out}\n${err}")
    endif()
    if(NOT err MATCHES "${regex}")
        message(FATAL_ERROR "${name}: stderr does not match '${regex}':\n${err}")
    endif()
    message("${name}: exit ${rc} in ${dt} s, stderr matches '${regex}'")
endfunction()

# options
fail_case(options_help "rank [01] of 2: the ranks differ in their options"
          RANK0 "${APLCL}" ${ok} --parallel data RANK1 "${APLCL}" ${ok} --parallel data --help)
fail_case(options_parallel_value "--parallel takes data or labels, not 'rows'"
          RANK0 "${APLCL}" ${ok} --parallel data RANK1 "${APLCL}" ${ok} --parallel rows)
fail_case(options_lr_labels "rank [01] of 2: the ranks differ in --lr"
          RANK0 "${APLCL}" ${ok} --parallel labels
          RANK1 "${APLCL}" ${ok} --parallel labels --lr 0.01)
# device: the tool's own context (--device), not --devices
fail_case(device "device '999:0'.*rank 1 of 2: stopped with exit status 1"
          RANK0 "${APLCL}" ${ok} --parallel data
          RANK1 "${APLCL}" ${ok} --parallel data --device 999:0)
# data: a missing file; a file with other rows (the first 200 of yeast's training rows)
fail_case(data_missing "missing.arff.*cannot open.*rank 1 of 2: stopped with exit status 1"
          RANK0 "${APLCL}" ${ok} --parallel labels
          RANK1 "${APLCL}" train "${DATA}/missing.arff" "${DATA}/yeast-test.arff" --labels 14
                --epochs 1 --quiet --parallel labels)
file(STRINGS "${DATA}/yeast-train.arff" lines)
list(FIND lines "@data" at)
if(at LESS 0)
    message(FATAL_ERROR "no @data line in ${DATA}/yeast-train.arff")
endif()
math(EXPR last "${at} + 200")
list(SUBLIST lines 0 ${last} head)
list(JOIN head "\n" text)
file(WRITE "${OUT}/yeast-train-200.arff" "${text}\n")
# yeast's header and one row that is not a number
list(SUBLIST lines 0 ${at} header)
list(JOIN header "\n" text)
file(WRITE "${OUT}/unparsable.arff" "${text}\n@data\nx\n")
fail_case(data_unparsable "unparsable.arff:[0-9]+:[0-9]+: .*rank 1 of 2: stopped with exit status 1"
          RANK0 "${APLCL}" ${ok} --parallel data
          RANK1 "${APLCL}" train "${OUT}/unparsable.arff" "${DATA}/yeast-test.arff" --labels 14
                --epochs 1 --quiet --parallel data)
fail_case(data_differs "rank [01] of 2: the ranks differ in the training data"
          RANK0 "${APLCL}" ${ok} --parallel data
          RANK1 "${APLCL}" train "${OUT}/yeast-train-200.arff" "${DATA}/yeast-test.arff"
                --labels 14 --epochs 1 --quiet --parallel data)
# epoch: a kernel launch that fails on rank 1 only, in the first batch
fail_case(epoch "rank 1 of 2: worker 1: adam failed"
          RANK0 "${APLCL}" ${ok} --parallel data
          RANK1 env LD_PRELOAD=${SHIM} APLCL_TEST_FAIL_KERNEL=adam
                "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0"
                "${APLCL}" ${ok} --parallel data)
# output: --out is checked before training, by the rank that writes it
fail_case(output_dir "cannot create directory /dev/null/out.*rank 0 of 2: stopped"
          RANK0 "${APLCL}" ${ok} --parallel labels --out /dev/null/out
          RANK1 "${APLCL}" ${ok} --parallel labels --out /dev/null/out)
fail_case(output_stdout "rank 0 of 2: stopped with exit status 1"
          RANK0 sh -c "exec \"$0\" \"$@\" >/dev/full" "${APLCL}" ${ok} --parallel data
          RANK1 "${APLCL}" ${ok} --parallel data)
