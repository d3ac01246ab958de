# test_step.cmake: what the `cmake -P` test scripts share (run_consumer_test.cmake,
# run_subproject_test.cmake): step(), which runs one command and stops the test with its output
# when it fails, and gen_args, the generator arguments of the build under test.
#
# Before include(): test_step_name (the test's name in messages) and, optionally, test_step_dir
# (the commands' working folder). step(<what> <command...>) leaves the command's stdout in
# step_out.

function(step what)
    message(STATUS "${test_step_name}: ${what}")
    set(wd_args "")
    if(test_step_dir)
        set(wd_args WORKING_DIRECTORY "${test_step_dir}")
    endif()
    execute_process(COMMAND ${ARGN} ${wd_args}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        string(REPLACE ";" " " cmd "${ARGN}")
        message(FATAL_ERROR "${test_step_name} FAILED at: ${what}\n  command: ${cmd}\n"
                            "  exit: ${rc}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
    endif()
    set(step_out "${out}" PARENT_SCOPE)
endfunction()

set(gen_args "")
if(APLCL_GENERATOR)
    list(APPEND gen_args -G "${APLCL_GENERATOR}")
endif()
if(APLCL_MAKE_PROGRAM)
    list(APPEND gen_args "-DCMAKE_MAKE_PROGRAM=${APLCL_MAKE_PROGRAM}")
endif()
