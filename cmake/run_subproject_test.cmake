# run_subproject_test.cmake: the consumer_add_subdirectory test (cmake -P), run by CTest.
#
# Configures and builds tests/subproject, a parent project that add_subdirectory()s this source
# tree, in a scratch folder; then checks that the build made libaplcl and the parent's program
# and nothing of aplcl's programs (no `aplcl` tool, no static helper libraries), that the parent
# has no tests of aplcl's, and runs the parent's program (tests/consumer/main.c: host calls only).
#
# Inputs (-D): APLCL_SOURCE_DIR, APLCL_WORK_DIR, APLCL_C_COMPILER, APLCL_GENERATOR,
# APLCL_MAKE_PROGRAM, APLCL_EXTRA_FLAGS (space-separated, e.g. sanitizer flags).

foreach(var APLCL_SOURCE_DIR APLCL_WORK_DIR APLCL_C_COMPILER)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "run_subproject_test.cmake: ${var} is not set")
    endif()
endforeach()
set(build "${APLCL_WORK_DIR}/build")
file(REMOVE_RECURSE "${build}")
file(MAKE_DIRECTORY "${build}")

set(test_step_name "subproject test")
set(test_step_dir "${build}")
include("${CMAKE_CURRENT_LIST_DIR}/test_step.cmake")

step("configure the parent project" "${CMAKE_COMMAND}" -S "${APLCL_SOURCE_DIR}/tests/subproject"
     -B "${build}" ${gen_args} -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_COMPILER=${APLCL_C_COMPILER}"
     "-DCMAKE_C_FLAGS=${APLCL_EXTRA_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${APLCL_EXTRA_FLAGS}"
     "-DCMAKE_SHARED_LINKER_FLAGS=${APLCL_EXTRA_FLAGS}" "-DAPLCL_SOURCE_DIR=${APLCL_SOURCE_DIR}")
step("build it" "${CMAKE_COMMAND}" --build "${build}")

# What the build made: the library and the parent's program, nothing else of aplcl's.
file(GLOB_RECURSE made LIST_DIRECTORIES false RELATIVE "${build}" "${build}/*")
list(FILTER made EXCLUDE REGEX "(^|/)CMakeFiles/|\\.cmake$|Makefile$|\\.ninja|\\.txt$|\\.c$|\\.pc(\\.in)?$|\\.log$")
set(found_lib OFF)
foreach(f IN LISTS made)
    get_filename_component(name "${f}" NAME)
    if(name MATCHES "^libaplcl\\.(so|a|dylib)")
        set(found_lib ON)
    elseif(name MATCHES "^aplcl_cuda_cubins\\.c\\.bin$|^aplcl_cubin_gen$|^cuda-nvrtc-registers\\.md$"
           OR f MATCHES "(^|/)cubin-cache/[^/]+\\.(cubin|ptx)$")
        # the CUDA cubins embedded in libaplcl, the build-time tool that compiles them, its
        # register table and its per-compile cache (cmake/cuda.cmake: in the build tree unless
        # APLCL_CUBIN_CACHE_DIR points elsewhere, as scripts/test.sh does): parts of the
        # library's build, not programs
    elseif(NOT name STREQUAL "aplcl_parent")
        message(FATAL_ERROR "subproject test FAILED: the parent's build made ${f}; "
                            "add_subdirectory(aplcl) should build libaplcl alone")
    endif()
endforeach()
if(NOT found_lib)
    message(FATAL_ERROR "subproject test FAILED: no libaplcl in ${build}: ${made}")
endif()

step("list the parent's tests" "${CMAKE_CTEST_COMMAND}" -N)
if(NOT step_out MATCHES "Total Tests: 0")
    message(FATAL_ERROR "subproject test FAILED: aplcl added tests to its parent:\n${step_out}")
endif()
step("run the parent's program" "${build}/aplcl_parent")
message(STATUS "subproject test: add_subdirectory(aplcl) built libaplcl alone; no tests added")
