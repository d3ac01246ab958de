# run_cli_case.cmake: one `aplcl` command-line case, checked on its exit status AND its messages.
# Run by CTest (tests/CMakeLists.txt, aplcl_cli_case) with
#   -DAPLCL=<tool> -DARGS=<arguments separated by '|'> -DRC=<expected exit status>
#   [-DOUT_RE=<regex stdout must match>] [-DERR_RE=<regex stderr must match>]
#   [-DERR_NOT_RE=<regex stderr must not match>] [-DOUT_NOT_RE=<regex stdout must not match>]
#   [-DSET_ENV=<NAME=VALUE|...>]
#   [-DCSV=<file the command writes> -DCSV_FIELDS=<n>]: every line of CSV has n RFC 4180 fields
#   and at least one field is quoted (the loss specs hold commas; -DCSV_QUOTED=0: not required).
#   [-DSTDOUT=<file>]: stdout goes to that file (not checked).
#   [-DONLY_IF_DEVICES=<regex>]: run only when `aplcl devices` prints a match, else print
#   "SKIP: ..." (the test's SKIP_REGULAR_EXPRESSION).
string(REPLACE "|" ";" args "${ARGS}")
if(SET_ENV)
    string(REPLACE "|" ";" envs "${SET_ENV}")
    foreach(e IN LISTS envs)
        string(REGEX MATCH "^([^=]+)=(.*)$" _ "${e}")
        set(ENV{${CMAKE_MATCH_1}} "${CMAKE_MATCH_2}")
    endforeach()
endif()
if(CSV)
    file(REMOVE "${CSV}")
endif()
if(ONLY_IF_DEVICES)
    execute_process(COMMAND "${APLCL}" devices OUTPUT_VARIABLE devs RESULT_VARIABLE drc)
    if(NOT devs MATCHES "${ONLY_IF_DEVICES}")
        message(STATUS "SKIP: no device listed matches '${ONLY_IF_DEVICES}'")
        return()
    endif()
endif()
if(STDOUT) # stdout to a file (/dev/full: a write error on stdout)
    execute_process(COMMAND "${APLCL}" ${args}
                    OUTPUT_FILE "${STDOUT}" ERROR_VARIABLE err RESULT_VARIABLE rc)
    set(out "")
else()
    execute_process(COMMAND "${APLCL}" ${args}
                    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
endif()
set(shown "aplcl ${args}\n  exit ${rc}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
if(NOT rc STREQUAL "${RC}")
    message(FATAL_ERROR "exit status ${rc}, expected ${RC}\n${shown}")
endif()
if(DEFINED OUT_RE AND NOT out MATCHES "${OUT_RE}")
    message(FATAL_ERROR "stdout does not match '${OUT_RE}'\n${shown}")
endif()
if(DEFINED ERR_RE AND NOT err MATCHES "${ERR_RE}")
    message(FATAL_ERROR "stderr does not match '${ERR_RE}'\n${shown}")
endif()
if(DEFINED OUT_NOT_RE AND out MATCHES "${OUT_NOT_RE}")
    message(FATAL_ERROR "stdout matches '${OUT_NOT_RE}' and must not\n${shown}")
endif()
if(DEFINED ERR_NOT_RE AND err MATCHES "${ERR_NOT_RE}")
    message(FATAL_ERROR "stderr matches '${ERR_NOT_RE}' and must not\n${shown}")
endif()
if(CSV)
    include("${CMAKE_CURRENT_LIST_DIR}/check_csv.cmake")
    if(NOT DEFINED CSV_QUOTED)
        set(CSV_QUOTED 1)
    endif()
    aplcl_check_csv("${CSV}" ${CSV_FIELDS} "${shown}" ${CSV_QUOTED})
endif()
message(STATUS "ok: aplcl ${args} -> exit ${rc}")
