/* bench_ocl.c: the OpenCL side of `aplcl bench`: the copy kernel that gives each device's
 * bandwidth yardstick, and the timing of one aplcl call.
 *
 * Timing of a call: aplcl enqueues several kernels and hands back only the last event, so a
 * marker is enqueued first and the call waits on it; the marker itself waits on a user event that
 * is set only after everything is enqueued. Time = END(call's event) - END(marker): device time
 * from the moment the work could start to the last output written, host enqueue cost excluded.
 * Where profiling of the marker is unavailable, the host wall clock around clFinish is used.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int profile_span(cl_event a, cl_event b, double *sec) {
    cl_ulong ea = 0, eb = 0;
    if (clGetEventProfilingInfo(a, CL_PROFILING_COMMAND_END, sizeof ea, &ea, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(b, CL_PROFILING_COMMAND_END, sizeof eb, &eb, NULL) != CL_SUCCESS ||
        ea == 0 || eb <= ea)
        return 1;
    *sec = (double)(eb - ea) * 1e-9;
    return 0;
}

aplcl_status cli_bench_time_call(aplcl_ctx *ctx, int *mode, const aplcl_params *p, size_t rows,
                                 size_t cols, const aplcl_io *io, double *sec) {
    cl_command_queue q = aplcl_ctx_queue(ctx);
    cl_int err = clFinish(q);
    if (err != CL_SUCCESS)
        return APLCL_ERR_OPENCL;
    cl_event b = NULL;
    aplcl_status st;
    if (*mode == CLI_TIMING_EVENTS) {
        cl_event gate = clCreateUserEvent(aplcl_ctx_cl_context(ctx), &err), a = NULL;
        if (err == CL_SUCCESS)
            err = clEnqueueMarkerWithWaitList(q, 1, &gate, &a);
        if (err != CL_SUCCESS) {
            if (gate)
                clSetUserEventStatus(gate, CL_COMPLETE), clReleaseEvent(gate);
            *mode = CLI_TIMING_WALL; /* no markers on user events: fall back */
            return cli_bench_time_call(ctx, mode, p, rows, cols, io, sec);
        }
        st = aplcl_compute_io(ctx, p, rows, cols, io, 1, &a, &b);
        clFlush(q);
        double t0 = cli_now_s();
        clSetUserEventStatus(gate, CL_COMPLETE);
        if (st == APLCL_SUCCESS)
            err = clWaitForEvents(1, &b);
        double t1 = cli_now_s();
        clFinish(q);
        if (st == APLCL_SUCCESS && err != CL_SUCCESS)
            st = APLCL_ERR_OPENCL;
        if (st == APLCL_SUCCESS && profile_span(a, b, sec)) {
            *mode = CLI_TIMING_WALL; /* markers not profiled here: this and later reps by wall */
            *sec = t1 - t0;
        }
        clReleaseEvent(gate);
        clReleaseEvent(a);
        if (b)
            clReleaseEvent(b);
        return st;
    }
    double t0 = cli_now_s();
    st = aplcl_compute_io(ctx, p, rows, cols, io, 0, NULL, NULL);
    err = clFinish(q);
    *sec = cli_now_s() - t0;
    return st != APLCL_SUCCESS ? st : err != CL_SUCCESS ? APLCL_ERR_OPENCL : APLCL_SUCCESS;
}

const char *cli_timing_name(int mode) { return mode == CLI_TIMING_EVENTS ? "events" : "wall"; }

const char *cli_timing_description(int mode) {
    return mode == CLI_TIMING_EVENTS
               ? "OpenCL profiling events: END(call's last event) - END(marker the call waits on);"
                 " the marker waits on a user event set after enqueueing, so host enqueue time is"
                 " not counted"
               : "host wall clock from enqueue to clFinish";
}

/* ---- copy bandwidth ---- */

static const char copy_src[] = "__kernel void bench_copy4(__global const float4 *restrict src,\n"
                               "                          __global float4 *restrict dst) {\n"
                               "    size_t i = get_global_id(0);\n"
                               "    dst[i] = src[i];\n"
                               "}\n";

int cli_bench_copy_bandwidth(aplcl_ctx *ctx, int reps, cli_copy_result *out) {
    cl_context c = aplcl_ctx_cl_context(ctx);
    cl_device_id dev = aplcl_ctx_device(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    cl_ulong max_alloc = 0;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    size_t bytes = (size_t)256 << 20;
    if (max_alloc && max_alloc < bytes)
        bytes = (size_t)max_alloc & ~(size_t)0xffff;
    memset(out, 0, sizeof *out);
    out->bytes = bytes;
    cl_int err;
    cl_program prog = NULL;
    cl_kernel k = NULL;
    cl_mem src = NULL, dst = NULL;
    double *t = malloc((size_t)reps * sizeof *t);
    int rc = 1;
    const char *s = copy_src;
    if (!t)
        goto out;
    prog = clCreateProgramWithSource(c, 1, &s, NULL, &err);
    if (err != CL_SUCCESS)
        goto fail;
    if ((err = clBuildProgram(prog, 1, &dev, "", NULL, NULL)) != CL_SUCCESS)
        goto fail;
    k = clCreateKernel(prog, "bench_copy4", &err);
    if (err != CL_SUCCESS)
        goto fail;
    src = clCreateBuffer(c, CL_MEM_READ_ONLY, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        goto fail;
    dst = clCreateBuffer(c, CL_MEM_WRITE_ONLY, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        goto fail;
    const float one = 1.0f, zero = 0.0f; /* touch both buffers before timing */
    if ((err = clEnqueueFillBuffer(q, src, &one, sizeof one, 0, bytes, 0, NULL, NULL)) ||
        (err = clEnqueueFillBuffer(q, dst, &zero, sizeof zero, 0, bytes, 0, NULL, NULL)) ||
        (err = clSetKernelArg(k, 0, sizeof src, &src)) ||
        (err = clSetKernelArg(k, 1, sizeof dst, &dst)) || (err = clFinish(q)))
        goto fail;
    size_t global = bytes / 16;
    for (int i = -2; i < reps; ++i) { /* two warm-up runs */
        cl_event ev = NULL;
        if ((err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &ev)) ||
            (err = clWaitForEvents(1, &ev))) {
            if (ev)
                clReleaseEvent(ev);
            goto fail;
        }
        cl_ulong t0 = 0, t1 = 0;
        err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        if (!err)
            err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(ev);
        if (err)
            goto fail;
        if (i >= 0)
            t[i] = (double)(t1 - t0) * 1e-9;
    }
    /* check the copy happened: a wrong yardstick would flatter every case */
    float probe[2] = {0, 0};
    if ((err = clEnqueueReadBuffer(q, dst, CL_TRUE, bytes - sizeof probe, sizeof probe, probe, 0,
                                   NULL, NULL)))
        goto fail;
    if (probe[0] != 1.0f || probe[1] != 1.0f) {
        fprintf(stderr, "aplcl bench: copy kernel produced wrong data\n");
        goto out;
    }
    out->reps = reps;
    cli_stats(t, reps, &out->median_s, &out->min_s, &out->max_s);
    out->gb_s = 2.0 * (double)bytes / out->median_s * 1e-9;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "aplcl bench: copy kernel: OpenCL error %d\n", (int)err);
out:
    cli_release_all((const cl_mem[]){src, dst}, 2);
    if (k)
        clReleaseKernel(k);
    if (prog)
        clReleaseProgram(prog);
    free(t);
    return rc;
}
