# run_consumer_test.cmake: the consumer_find_package test (cmake -P), run by CTest after a build.
#
# Installs the build tree to a scratch prefix, then builds tests/consumer against that prefix twice:
# once with find_package(aplcl) and once with flags from `pkg-config aplcl`, and runs both. Any
# failing step fails the test. It checks packaging, not the loss: main.c only does a smoke check.
#
# Inputs (-D): APLCL_BUILD_DIR, APLCL_CONSUMER_SOURCE_DIR, APLCL_WORK_DIR, APLCL_CONFIG,
# APLCL_INSTALL_LIBDIR, APLCL_SHARED, APLCL_C_COMPILER, APLCL_GENERATOR, APLCL_MAKE_PROGRAM,
# APLCL_EXTRA_FLAGS (space-separated, e.g. sanitizer flags the consumer must share).

foreach(var APLCL_BUILD_DIR APLCL_CONSUMER_SOURCE_DIR APLCL_WORK_DIR APLCL_INSTALL_LIBDIR
            APLCL_C_COMPILER)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "run_consumer_test.cmake: ${var} is not set")
    endif()
endforeach()
if(IS_ABSOLUTE "${APLCL_INSTALL_LIBDIR}")
    message(FATAL_ERROR "CMAKE_INSTALL_LIBDIR is absolute (${APLCL_INSTALL_LIBDIR}); "
                        "the install tree cannot be relocated to a scratch prefix")
endif()

set(prefix "${APLCL_WORK_DIR}/prefix")
set(libdir "${prefix}/${APLCL_INSTALL_LIBDIR}")
set(cmake_build "${APLCL_WORK_DIR}/find-package")
set(pc_build "${APLCL_WORK_DIR}/pkg-config")
set(config_args "")
if(APLCL_CONFIG)
    set(config_args --config "${APLCL_CONFIG}")
endif()
separate_arguments(extra_flags UNIX_COMMAND "${APLCL_EXTRA_FLAGS}")

# Runs a command; stops the test with its output when it fails.
set(test_step_name "consumer test")
include("${CMAKE_CURRENT_LIST_DIR}/test_step.cmake")

file(REMOVE_RECURSE "${APLCL_WORK_DIR}")
file(MAKE_DIRECTORY "${APLCL_WORK_DIR}")

# 1. Install the build tree.
step("install to ${prefix}"
     "${CMAKE_COMMAND}" --install "${APLCL_BUILD_DIR}" --prefix "${prefix}" ${config_args})
foreach(f "include/aplcl.h" "${APLCL_INSTALL_LIBDIR}/cmake/aplcl/aplclConfig.cmake"
          "${APLCL_INSTALL_LIBDIR}/cmake/aplcl/aplclConfigVersion.cmake"
          "${APLCL_INSTALL_LIBDIR}/cmake/aplcl/aplclTargets.cmake"
          "${APLCL_INSTALL_LIBDIR}/pkgconfig/aplcl.pc")
    if(NOT EXISTS "${prefix}/${f}")
        message(FATAL_ERROR "consumer test FAILED: ${f} was not installed under ${prefix}")
    endif()
endforeach()

# 2. find_package(aplcl) against the prefix.
set(build_type_args "")
if(APLCL_CONFIG)
    set(build_type_args "-DCMAKE_BUILD_TYPE=${APLCL_CONFIG}")
endif()
step("configure tests/consumer with CMAKE_PREFIX_PATH=${prefix}"
     "${CMAKE_COMMAND}" -S "${APLCL_CONSUMER_SOURCE_DIR}" -B "${cmake_build}" ${gen_args}
     ${build_type_args}
     "-DCMAKE_C_COMPILER=${APLCL_C_COMPILER}"
     "-DCMAKE_PREFIX_PATH=${prefix}"
     "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"
     "-DCMAKE_C_FLAGS=${APLCL_EXTRA_FLAGS}"
     "-DCMAKE_EXE_LINKER_FLAGS=${APLCL_EXTRA_FLAGS}")
# It must have found this prefix, not some other aplcl on the system.
file(STRINGS "${cmake_build}/CMakeCache.txt" found_dir REGEX "^aplcl_DIR:")
string(REGEX REPLACE "^aplcl_DIR:[A-Z]+=" "" found_dir "${found_dir}")
get_filename_component(found_dir "${found_dir}" REALPATH)
get_filename_component(real_prefix "${prefix}" REALPATH)
string(FIND "${found_dir}" "${real_prefix}/" pos)
if(NOT pos EQUAL 0)
    message(FATAL_ERROR "consumer test FAILED: find_package(aplcl) used ${found_dir}, "
                        "not the scratch prefix ${real_prefix}")
endif()
step("build tests/consumer" "${CMAKE_COMMAND}" --build "${cmake_build}" ${config_args})

set(ld_path "${libdir}")
if(DEFINED ENV{LD_LIBRARY_PATH} AND NOT "$ENV{LD_LIBRARY_PATH}" STREQUAL "")
    string(APPEND ld_path ":$ENV{LD_LIBRARY_PATH}")
endif()
set(ENV{LD_LIBRARY_PATH} "${ld_path}")
step("run the find_package consumer" "${cmake_build}/bin/aplcl_consumer")
message(STATUS "${step_out}")

# 3. pkg-config against the prefix.
find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG_EXECUTABLE)
    message(FATAL_ERROR "consumer test FAILED: pkg-config not found (scripts/deps.sh installs it)")
endif()
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
set(static_arg "")
if(NOT APLCL_SHARED)
    set(static_arg --static)
endif()
step("pkg-config --variable=prefix aplcl" "${PKG_CONFIG_EXECUTABLE}" --variable=prefix aplcl)
string(STRIP "${step_out}" pc_prefix)
if(NOT pc_prefix STREQUAL prefix)
    message(FATAL_ERROR "consumer test FAILED: aplcl.pc has prefix '${pc_prefix}', "
                        "expected '${prefix}'")
endif()
step("pkg-config --cflags --libs aplcl"
     "${PKG_CONFIG_EXECUTABLE}" --cflags --libs ${static_arg} aplcl)
string(STRIP "${step_out}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
file(MAKE_DIRECTORY "${pc_build}")
step("compile main.c with pkg-config flags"
     "${APLCL_C_COMPILER}" -std=c11 -Wall -Wextra -Werror ${extra_flags}
     "${APLCL_CONSUMER_SOURCE_DIR}/main.c" -o "${pc_build}/aplcl_consumer" ${pc_flags})
step("run the pkg-config consumer" "${pc_build}/aplcl_consumer")
message(STATUS "${step_out}")

message(STATUS "consumer test: find_package and pkg-config consumers both passed")
