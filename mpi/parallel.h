/* parallel.h: the process group of a parallel `aplcl train` (and of the sharded-head benchmark):
 * MPI when aplcl is built with it, else one process. The static library aplcl_mpi (mpi/), the
 * only code of the programs that includes mpi.h.
 *
 * A thin layer over the few collectives the trainer needs (sums in double and uint64, maxima, an
 * all-equal check) and over failing as a group: par_fail prints which rank failed and why and,
 * with more than one rank, aborts the communicator so that no rank waits for a dead one. Not a
 * transport of our own: without MPI every call is the one-process identity.
 */
#ifndef APLCL_MPI_PARALLEL_H
#define APLCL_MPI_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* 1 when built with MPI. */
int par_have_mpi(void);
/* Starts MPI (once; later calls do nothing) and registers its finalisation at exit. Returns 0,
 * or -1 after printing why. Without MPI: 0. */
int par_start(void);
/* This process's rank and the group's size (0 and 1 before par_start or without MPI). */
int par_rank(void);
int par_size(void);
/* In-place sums over the ranks. */
void par_sum_f64(double *v, size_t n);
void par_sum_u64(uint64_t *v, size_t n);
/* In-place maxima over the ranks (the values must not be NaN). */
void par_max_f64(double *v, size_t n);
/* 1 when every rank passed the same value. */
int par_all_equal(uint64_t v);
/* FNV-1a of `bytes` bytes continuing from h (PAR_HASH_INIT to start): a value for
 * par_all_equal that stands for a configuration or a data set. */
#define PAR_HASH_INIT 1469598103934665603ull
uint64_t par_hash(uint64_t h, const void *data, size_t bytes);
/* Prints "<who>: rank R of N: <message>" on stderr; with more than one rank, aborts the whole
 * communicator (MPI_Abort, exit status 1) and does not return. */
void par_fail(const char *who, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* APLCL_MPI_PARALLEL_H */
