/* parallel.c: the MPI side of parallel training (see parallel.h); one process without MPI.
 *
 * Everything runs on MPI_COMM_WORLD from the main thread. Sums go through double (floats are
 * widened by the caller), so their order is MPI's reduction order for a given rank count.
 */
#include "parallel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t par_hash(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *b = data;
    for (size_t i = 0; i < bytes; ++i)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

#ifdef APLCL_HAVE_MPI
#include <mpi.h>

static int g_rank = 0, g_size = 1;

int par_have_mpi(void) { return 1; }

static void par_stop(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin)
        MPI_Finalize();
}

int par_start(void) {
    int init = 0;
    MPI_Initialized(&init);
    if (init)
        return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "aplcl: MPI_Init failed\n");
        return -1;
    }
    /* a failing collective returns an error instead of aborting silently: par_fail says why */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    atexit(par_stop);
    return 0;
}

int par_rank(void) { return g_rank; }
int par_size(void) { return g_size; }

static void check(int rc, const char *what) {
    if (rc != MPI_SUCCESS)
        par_fail("aplcl", "%s failed (MPI error %d)", what, rc);
}

void par_sum_f64(double *v, size_t n) {
    if (g_size > 1 && n)
        check(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce (double)");
}

void par_sum_u64(uint64_t *v, size_t n) {
    if (g_size > 1 && n)
        check(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce (uint64)");
}

void par_max_f64(double *v, size_t n) {
    if (g_size > 1 && n)
        check(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
              "MPI_Allreduce (max)");
}

int par_all_equal(uint64_t v) {
    if (g_size == 1)
        return 1;
    uint64_t mm[2] = {v, ~v}; /* max of v and of ~v: min and max in one reduction */
    check(MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD),
          "MPI_Allreduce (check)");
    return mm[0] == ~mm[1];
}

void par_fail(const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: rank %d of %d: ", who, g_rank, g_size);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
    if (g_size > 1)
        MPI_Abort(MPI_COMM_WORLD, 1);
}

#else /* one process */

int par_have_mpi(void) { return 0; }
int par_start(void) { return 0; }
int par_rank(void) { return 0; }
int par_size(void) { return 1; }
void par_sum_f64(double *v, size_t n) { (void)v, (void)n; }
void par_sum_u64(uint64_t *v, size_t n) { (void)v, (void)n; }
void par_max_f64(double *v, size_t n) { (void)v, (void)n; }
int par_all_equal(uint64_t v) {
    (void)v;
    return 1;
}
void par_fail(const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: rank 0 of 1: ", who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

#endif
