# run_oclgrind.cmake: runs a program on Oclgrind's simulated OpenCL device (data-race and API
# checks on) in the GPU shape, and judges Oclgrind's report. CTest runs it in script mode:
#   -DPROG=<program> -DARGS=<;-list> -DWORK=<scratch dir> -DEXPECT=clean|race
#   [-DKERNELS=<kernels/ dir> (with EXPECT=race: a copy with GROUP_SUM's loop barrier removed)]
# clean: the program must succeed and Oclgrind report nothing. race: the broken copy must be
# reported as a data race (the proof that this stage can fail).
# Oclgrind installs no ICD file: one is written into WORK and OCL_ICD_VENDORS points there, so
# the simulator is the only OpenCL device the program sees.
set(icd_lib /usr/lib/oclgrind/liboclgrind-rt-icd.so)
if(NOT EXISTS "${icd_lib}")
    message(FATAL_ERROR "Oclgrind is not installed (${icd_lib}); scripts/deps.sh installs it")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/vendors" "${WORK}/cache")
file(WRITE "${WORK}/vendors/oclgrind.icd" "${icd_lib}\n")
set(env OCL_ICD_VENDORS=${WORK}/vendors OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1
        APLCL_VECTOR_WIDTH=1 APLCL_LOCAL_SIZE=256 APLCL_CONTIGUOUS=0
        APLCL_CACHE_DIR=${WORK}/cache)
if(EXPECT STREQUAL "race")
    file(GLOB files "${KERNELS}/*.cl" "${KERNELS}/*.h")
    file(COPY ${files} DESTINATION "${WORK}/kernels")
    file(READ "${WORK}/kernels/apl_0_common.cl" text)
    # the barrier after each halving step of the work-group sum
    string(REGEX REPLACE "(buf\\[l\\] \\+= buf\\[l \\+ s\\];[ \\\\\n]*)barrier\\(CLK_LOCAL_MEM_FENCE\\);"
           "\\1(void)0;" broken "${text}")
    if(broken STREQUAL text)
        message(FATAL_ERROR "the loop barrier of GROUP_SUM was not found: update this script")
    endif()
    file(WRITE "${WORK}/kernels/apl_0_common.cl" "${broken}")
    list(APPEND env APLCL_KERNEL_DIR=${WORK}/kernels)
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E env ${env} "${PROG}" ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
string(REGEX MATCHALL "Oclgrind - [^\n]*|[^\n]*[Dd]ata race[^\n]*" reports "${err}")
list(LENGTH reports n_reports)
if(EXPECT STREQUAL "race")
    string(FIND "${err}" "ata race" found)
    if(found EQUAL -1)
        message("${err}")
        message(FATAL_ERROR "the GROUP_SUM barrier was removed and Oclgrind reported no data race")
    endif()
    string(SUBSTRING "${err}" 0 1500 head)
    message("Oclgrind reported the removed barrier (as it must):\n${head}")
else()
    if(NOT out MATCHES "Oclgrind")
        message(FATAL_ERROR "the device was not Oclgrind's simulator")
    endif()
    if(NOT rc EQUAL 0 OR n_reports GREATER 0)
        message("${err}")
        message(FATAL_ERROR "under Oclgrind: exit ${rc}, ${n_reports} report(s)")
    endif()
    message("Oclgrind: exit 0, no report")
endif()
