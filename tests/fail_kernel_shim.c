/* fail_kernel_shim.c: a test-only LD_PRELOAD library that makes one OpenCL kernel fail, so that a
 * test can stop one MPI rank in the middle of training (run_parallel_fail_test.cmake).
 *
 * clEnqueueNDRangeKernel of the kernel named by $APLCL_TEST_FAIL_KERNEL (its function name, e.g.
 * "adam", train/kernels/net.cl) returns CL_OUT_OF_RESOURCES; every other launch goes to the real
 * OpenCL loader. Not part of any shipped program.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef cl_int (*enqueue_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                             const size_t *, cl_uint, const cl_event *, cl_event *);

cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims,
                                          const size_t *offset, const size_t *global,
                                          const size_t *local, cl_uint n_wait, const cl_event *wait,
                                          cl_event *event) {
    static enqueue_fn real = NULL;
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "clEnqueueNDRangeKernel");
        memcpy(&real, &sym, sizeof real); /* object to function pointer without a warning */
    }
    const char *want = getenv("APLCL_TEST_FAIL_KERNEL");
    char name[256] = "";
    if (want &&
        clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL) == CL_SUCCESS &&
        strcmp(name, want) == 0)
        return CL_OUT_OF_RESOURCES;
    return real ? real(q, k, dims, offset, global, local, n_wait, wait, event)
                : CL_INVALID_OPERATION;
}
