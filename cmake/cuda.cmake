# cuda.cmake: the CUDA backend of libaplcl (src/cuda/, include/aplcl_cuda.h), included by the
# top-level CMakeLists.txt after the library target exists.
#
# libcuda and NVRTC are loaded at run time (dlopen): nothing here needs CUDA to build. When an
# NVRTC library is found (APLCL_NVRTC_LIBRARY; by default the oldest at hand: a libnvrtc.so.12
# from the nvidia-cuda-nvrtc-cu12 wheel in ./build-nvrtc/venv (scripts/test.sh installs it there),
# then $CUDA_HOME's or the toolkit's; $APLCL_NVRTC_LIBRARY overrides),
# aplcl_cubin_gen compiles every CUDA variant for APLCL_CUDA_SMS at build time, checks the launch
# code's argument packing against each kernel's PTX parameters (a drift fails the build) and the
# cubins are embedded. Its per-compile cache (APLCL_CUBIN_CACHE_DIR) may be shared by build trees:
# scripts/test.sh points the ASan and Python builds at ./build's, so the variants compile once.

set(APLCL_CUDA_SMS "80,90" CACHE STRING "sm_XY of the cubins embedded at build time")
if(DEFINED ENV{APLCL_CUBIN_CACHE_DIR})
    set(_aplcl_cubin_cache "$ENV{APLCL_CUBIN_CACHE_DIR}")
else()
    set(_aplcl_cubin_cache "${CMAKE_BINARY_DIR}/cubin-cache")
endif()
set(APLCL_CUBIN_CACHE_DIR "${_aplcl_cubin_cache}" CACHE PATH
    "Per-compile cache of the build-time NVRTC compiles (may be another build tree's)")
if(NOT DEFINED APLCL_NVRTC_LIBRARY AND DEFINED ENV{APLCL_NVRTC_LIBRARY})
    set(APLCL_NVRTC_LIBRARY "$ENV{APLCL_NVRTC_LIBRARY}" CACHE FILEPATH "NVRTC used at build time")
endif()
if(NOT DEFINED APLCL_NVRTC_LIBRARY)
    file(GLOB _aplcl_nvrtc_wheel
         "${CMAKE_CURRENT_SOURCE_DIR}/build-nvrtc/venv/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12")
    find_library(_aplcl_nvrtc_found NAMES libnvrtc.so.12 libnvrtc.so.13 nvrtc
                 HINTS ${_aplcl_nvrtc_wheel} "$ENV{CUDA_HOME}/lib64" /usr/local/cuda/lib64)
    if(_aplcl_nvrtc_wheel)
        list(GET _aplcl_nvrtc_wheel 0 _aplcl_nvrtc_default)
    elseif(_aplcl_nvrtc_found)
        set(_aplcl_nvrtc_default "${_aplcl_nvrtc_found}")
    else()
        set(_aplcl_nvrtc_default "")
    endif()
    set(APLCL_NVRTC_LIBRARY "${_aplcl_nvrtc_default}" CACHE FILEPATH
        "NVRTC used at build time to embed cubins (empty: none embedded, NVRTC at run time)")
endif()
if(APLCL_NVRTC_LIBRARY)
    message(STATUS "aplcl: CUDA cubins for sm ${APLCL_CUDA_SMS} by ${APLCL_NVRTC_LIBRARY}")
else()
    message(STATUS "aplcl: no NVRTC found: no CUDA cubins embedded (NVRTC needed at run time)")
endif()

# The prelude, embedded as its own table (kernels/*.h would put it in every OpenCL program).
set(APLCL_CUDA_PRELUDE "${CMAKE_CURRENT_SOURCE_DIR}/kernels/cuda/prelude.h")
set(APLCL_CUDA_PRELUDE_C "${CMAKE_CURRENT_BINARY_DIR}/aplcl_cuda_prelude_embedded.c")
add_custom_command(
    OUTPUT "${APLCL_CUDA_PRELUDE_C}"
    COMMAND "${CMAKE_COMMAND}" "-DAPLCL_KERNEL_FILES=${APLCL_CUDA_PRELUDE}"
            "-DAPLCL_EMBED_OUTPUT=${APLCL_CUDA_PRELUDE_C}" -DAPLCL_EMBED_SYMBOL=aplcl_cuda_prelude
            -P "${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_kernels.cmake"
    DEPENDS "${APLCL_CUDA_PRELUDE}" "${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_kernels.cmake"
    COMMENT "Embedding kernels/cuda/prelude.h"
    VERBATIM)

set(_aplcl_cuda_dir "${CMAKE_CURRENT_SOURCE_DIR}/src/cuda")
set(_aplcl_cuda_shared "${_aplcl_cuda_dir}/cuda_nvrtc.c" "${_aplcl_cuda_dir}/cuda_source.c"
                       "${_aplcl_cuda_dir}/cuda_args.c")
set(_aplcl_cuda_includes "${_aplcl_cuda_dir}" "${CMAKE_CURRENT_SOURCE_DIR}/src"
    "${CMAKE_CURRENT_SOURCE_DIR}/kernels" "${CMAKE_CURRENT_SOURCE_DIR}/include"
    "${CMAKE_CURRENT_SOURCE_DIR}/cmake")

# The generator: a build tool, never installed (it prints).
add_executable(aplcl_cubin_gen "${_aplcl_cuda_dir}/cubin_gen.c" ${_aplcl_cuda_shared}
               "${APLCL_EMBEDDED_C}" "${APLCL_CUDA_PRELUDE_C}")
target_include_directories(aplcl_cubin_gen PRIVATE ${_aplcl_cuda_includes})
target_compile_definitions(aplcl_cubin_gen PRIVATE CL_TARGET_OPENCL_VERSION=120)
target_link_libraries(aplcl_cubin_gen PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
target_compile_options(aplcl_cubin_gen PRIVATE ${APLCL_WARNING_FLAGS})
if(APLCL_SANITIZE) # NVRTC's compiles fail inside an ASan process: the tool is built without it
    foreach(_prop COMPILE_OPTIONS LINK_OPTIONS)
        get_target_property(_opts aplcl_cubin_gen ${_prop})
        if(_opts)
            list(REMOVE_ITEM _opts ${APLCL_SANITIZE_FLAGS})
            set_property(TARGET aplcl_cubin_gen PROPERTY ${_prop} "${_opts}")
        endif()
    endforeach()
endif()

set(APLCL_CUBINS_C "${CMAKE_CURRENT_BINARY_DIR}/aplcl_cuda_cubins.c")
set(APLCL_NVRTC_TABLE "${CMAKE_CURRENT_BINARY_DIR}/cuda-nvrtc-registers.md")
# A machine without NVRTC (the GPU machines: driver only) takes another build's cubins:
# APLCL_CUBIN_BLOB = that build's aplcl_cuda_cubins.c, its .bin beside it (bench/gpu/run.sh).
set(APLCL_CUBIN_BLOB "" CACHE FILEPATH "Prebuilt aplcl_cuda_cubins.c (+ .bin) instead of NVRTC")
if(APLCL_CUBIN_BLOB)
    file(READ "${APLCL_CUBIN_BLOB}" _aplcl_blob)
    string(REGEX REPLACE "\\.incbin \\\\\"[^\\]*\\\\\"" ".incbin \\\\\"${APLCL_CUBIN_BLOB}.bin\\\\\""
           _aplcl_blob "${_aplcl_blob}")
    file(WRITE "${APLCL_CUBINS_C}" "${_aplcl_blob}")
    message(STATUS "aplcl: CUDA cubins from ${APLCL_CUBIN_BLOB}")
else()
add_custom_command(
    OUTPUT "${APLCL_CUBINS_C}"
    BYPRODUCTS "${APLCL_CUBINS_C}.bin" "${APLCL_NVRTC_TABLE}"
    # A parent project's sanitizer flags reach the generator too (CMAKE_C_FLAGS): LeakSanitizer
    # would then stop the build on the 72704 bytes NVRTC's C++ runtime keeps for its exception
    # pool, which are neither aplcl's nor freeable. The generator is a build tool: no leak check.
    COMMAND "${CMAKE_COMMAND}" -E env "ASAN_OPTIONS=detect_leaks=0"
            "$<TARGET_FILE:aplcl_cubin_gen>" --nvrtc "${APLCL_NVRTC_LIBRARY}"
            --sm "${APLCL_CUDA_SMS}" --cache "${APLCL_CUBIN_CACHE_DIR}"
            --blob "${APLCL_CUBINS_C}" --table "${APLCL_NVRTC_TABLE}"
    DEPENDS aplcl_cubin_gen ${APLCL_KERNEL_FILES} "${APLCL_CUDA_PRELUDE}"
    COMMENT "NVRTC: the CUDA loss variants for sm ${APLCL_CUDA_SMS} (cached by content)"
    VERBATIM)
endif()

target_sources(aplcl PRIVATE ${_aplcl_cuda_shared} "${_aplcl_cuda_dir}/cuda_driver.c"
               "${_aplcl_cuda_dir}/cuda_ctx.c" "${_aplcl_cuda_dir}/cuda_compute.c"
               "${APLCL_CUDA_PRELUDE_C}" "${APLCL_CUBINS_C}")
target_include_directories(aplcl PRIVATE "${_aplcl_cuda_dir}")
target_link_libraries(aplcl PRIVATE ${CMAKE_DL_LIBS})
install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/include/aplcl_cuda.h"
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
