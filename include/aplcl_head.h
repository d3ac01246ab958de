/* aplcl_head.h: the linear head of aplcl (logits = X W^T + b, then APL, in bounded memory).
 *
 * Part of the public API when aplcl is configured with APLCL_WITH_HEAD (ON by default): the
 * head's GEMMs need CLBlast, the rest of aplcl does not. A library built without the head
 * installs no aplcl_head.h and exports none of these functions; its CMake package then sets
 * aplcl_HAS_HEAD to OFF.
 */
#ifndef APLCL_HEAD_H
#define APLCL_HEAD_H

#include "aplcl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== linear head: logits = X W^T + b, then APL, in bounded memory (src/head.c) ==============
 *
 * For an engine whose last layer is a linear classifier over many labels. The N x C logits never
 * exist in full: rows go through in chunks, and per chunk of R rows
 *     L = X[rows] W^T + b                      (CLBlast SGEMM, into an R x C scratch buffer)
 *     loss, G = dloss/dL                       (aplcl_compute_io on L, G written over L)
 *     dX[rows] = G W,  dW += G^T X[rows],  db += column sums of G
 * so device scratch is R x C floats plus CLBlast's temporary buffer for the three GEMMs (held by
 * the head and handed to CLBlast, which then allocates nothing) and a few KiB, bounded by a byte
 * budget the caller gives each call. R is N when everything fits, else the most rows found to fit
 * (see aplcl_head_plan).
 *
 * Shapes (row-major float32, offsets and sizes in elements): X is N x D, W is C x D, b is C; dX is
 * N x D, dW is C x D, db is C; targets are N x C in any aplcl_targets format.
 *
 * Semantics are those of one aplcl_compute_io over the whole N x C logits, followed by the three
 * products (weights included: pos_weight, and a weight per element, label or row laid out over
 * the whole N x C batch, each chunk reading its own rows): the loss is reduced over all N*C
 * elements, MEAN divides by the caller's normalizer or by the whole batch's non-ignored count,
 * and grad_scale scales the gradient of that whole loss.
 * With MEAN, no normalizer and a gradient wanted, targets that can ignore (F32, U8, BITS with an
 * ignore mask) get a target-only count pass over all N*C targets before the first chunk; CSR and
 * BITS without a mask count N*C without looking. Invalid targets and non-finite logits contribute
 * no loss and no gradient and are counted, as in aplcl_compute_io. That promise is about the
 * logits the head computes: a non-finite feature X[r,k] (or weight) is not checked and goes
 * through the GEMMs. It makes every logit of row r non-finite (C of them counted in
 * APLCL_COUNT_NONFINITE_LOGITS; they add nothing to the loss and dX's row r is 0, though MEAN by
 * count still counts them, as aplcl_compute_io does), and
 * dW += G^T X then multiplies row r's zero gradient by X[r,k]: column k of dW becomes NaN. So a
 * non-zero NONFINITE_LOGITS count after a head call means dW (and db, for a non-finite weight)
 * may hold NaN: check the counts before applying an update.
 *
 * Determinism: same inputs, shape, budget and device give the same bits (CLBlast's GEMMs use no
 * atomics; the chunk losses are summed one after another in a fixed order, in double where the
 * device has it). Another budget changes only the order of float sums: results agree with a
 * single chunk to about 1e-6 relative.
 *
 * Empty shapes (n == 0 or c == 0): as aplcl_compute_io, a batch with no elements: SUCCESS, loss
 * 0, counters 0, nothing else read or written (dW and db gain nothing); d must still be > 0.
 *
 * CLBlast, as far as it shows: the GEMMs run on the context's queue and compile once per OpenCL
 * context, in aplcl_head_create. Destroying the process's last aplcl head empties CLBlast's
 * process-wide program cache (CLBlastClearCache), so your own CLBlast calls then recompile once.
 * On an out-of-order queue each GEMM is fenced with a barrier, which also holds back your
 * unrelated commands enqueued after it; on an in-order queue nothing extra is enqueued. */

/* A linear head on one aplcl context: its kernels and its scratch memory. */
typedef struct aplcl_head aplcl_head;

/* Creates a head on ctx and compiles everything its calls run (its small kernels and the GEMMs),
 * so later calls do not compile. Blocks while compiling, holding the context's lock (other calls
 * on ctx wait). Allocates no scratch: the first aplcl_head_compute does. ctx must outlive the
 * head; for threads see "threads" in aplcl.h. Errors: NULL_ARGUMENT, KERNEL_BUILD (log:
 * aplcl_last_build_log), BLAS, OPENCL, OUT_OF_HOST_MEMORY. On error *out is NULL. */
APLCL_API aplcl_status aplcl_head_create(aplcl_head **out, aplcl_ctx *ctx);

/* Releases the head's kernels and scratch; does not wait for queued work (OpenCL keeps memory
 * that queued commands use until they finish). NULL is fine. Destroy heads before their context.
 * The last head in the process also empties CLBlast's program cache (see the CLBlast note). */
APLCL_API void aplcl_head_destroy(aplcl_head *head);

/* Every buffer of one aplcl_head_compute call. Offsets count elements of the buffer's own type.
 * Outputs may be NULL (not computed); no output may overlap another buffer of the call. */
typedef struct aplcl_head_io {
    cl_mem x; /* N*D floats: the features (the layer's input) */
    size_t x_offset;
    cl_mem w; /* C*D floats: the weights, row c is label c's weight vector */
    size_t w_offset;
    cl_mem b; /* NULL (no bias) or C floats */
    size_t b_offset;
    aplcl_targets targets; /* N x C targets, any format (as in aplcl_io); BITS and CSR may be a
                              label window of a wider structure: a label shard of the head
                              (W, b, dW, db hold the window's C rows; see aplcl_targets) */
    cl_mem dx;             /* NULL or N*D floats: OVERWRITTEN with dloss/dX (never read) */
    size_t dx_offset;
    cl_mem dw; /* NULL or C*D floats: dloss/dW is ADDED (dW += ...), so an engine sums
                  micro-batches; zero it first for the plain gradient */
    size_t dw_offset;
    cl_mem db; /* NULL or C floats: dloss/db is ADDED, like dw (b NULL: the
                  gradient for a zero bias, the column sums of dloss/dlogits) */
    size_t db_offset;
    cl_mem loss; /* NULL or one float: the reduced loss */
    size_t loss_offset;
    cl_mem counts; /* NULL or APLCL_COUNT_LEN cl_ulong, summed over the whole batch */
    size_t counts_offset;
    aplcl_weights weights; /* cl_mem buffers laid out over the whole N x C batch, as in
                              aplcl_io (see "weights" in aplcl.h); all zero: unweighted */
} aplcl_head_io;

/* A zeroed aplcl_head_io with dense F32 targets: fill in the buffers you use. */
APLCL_API aplcl_head_io aplcl_head_io_default(void);

/* The plan aplcl_head_compute makes for a shape and budget, without enqueueing anything:
 * *chunk_rows (the rows per chunk, at most n) and *scratch_bytes (the device scratch a call
 * needs: chunk_rows*C*4 bytes of logits, CLBlast's temporary buffer for the largest of the three
 * GEMMs, and APLCL_HEAD_FIXED_SCRATCH bytes). Either pointer may be NULL. io may be NULL (read as
 * all offsets 0): the plan depends on it only through w_offset and dw_offset (CLBlast copies W
 * or dW into its temporary buffer when they do not start at offset 0), not on which outputs are
 * requested. A budget past what the device can hold (SIZE_MAX, say) means "as much as it can":
 * the plan keeps the chunk and CLBlast's buffer each within CL_DEVICE_MAX_MEM_ALLOC_SIZE and all
 * of the scratch within CL_DEVICE_GLOBAL_MEM_SIZE (the caller's own buffers need room too).
 * Errors: NULL_ARGUMENT (head), INVALID_SIZE (a zero size), SIZE_OVERFLOW, SCRATCH_BUDGET (not
 * even one row fits the budget and the device: *scratch_bytes then receives what one row needs,
 * SIZE_MAX when one row cannot be allocated on this device at all), BLAS.
 * Costs a few dozen CLBlast size queries (host only); aplcl_head_compute keeps the last plan. */
APLCL_API aplcl_status aplcl_head_plan(aplcl_head *head, size_t n, size_t d, size_t c,
                                       const aplcl_head_io *io, size_t scratch_budget_bytes,
                                       size_t *chunk_rows, size_t *scratch_bytes);

/* The scratch bytes a call needs when its chunks have chunk_rows rows (1..n), io as for
 * aplcl_head_plan; for picking a budget (a budget of this many bytes gives chunks of at least
 * chunk_rows rows when the need grows with the rows, as it does below CLBlast's GEMM tile).
 * Errors: NULL_ARGUMENT, INVALID_SIZE (a zero size, chunk_rows 0 or > n), SIZE_OVERFLOW, BLAS. */
APLCL_API aplcl_status aplcl_head_scratch_bytes(aplcl_head *head, size_t n, size_t d, size_t c,
                                                const aplcl_head_io *io, size_t chunk_rows,
                                                size_t *scratch_bytes);

/* Bytes of the head's small fixed scratch (a chunk's loss and counts, running sums, the batch's
 * target count). */
#define APLCL_HEAD_FIXED_SCRATCH 4096

/* Enqueues the linear head's forward pass and, when any of dx, dw, db is given, its backward pass
 * on the context's queue, and returns without waiting (see the CLBlast note above for the first
 * call on a context). Forward only (dx, dw, db all NULL): the loss and counts, no gradient written.
 *
 *   p          loss parameters (reduction, normalizer and grad_scale as described above)
 *   n, d, c    rows (samples), features, labels
 *   io         the buffers
 *   scratch_budget_bytes  most device scratch this call may use (aplcl_head_plan). Scratch is
 *              allocated on the first call, kept by the head, grown when a call needs more and
 *              released and reallocated smaller when the head holds more than a call's budget.
 *   wait list  events to wait for before reading anything (may be 0/NULL)
 *   event      NULL or receives an event that completes when every output is written; the
 *              caller releases it
 *
 * Errors (nothing is enqueued): NULL_ARGUMENT, INVALID_SIZE (d == 0), SIZE_OVERFLOW (also: CLBlast
 * indexes with 32-bit ints, so every matrix's offset + extent must stay below 2^31 elements),
 * INVALID_PARAMS (aplcl_params_validate's rule, applied to grad_scale / normalizer for MEAN),
 * INVALID_TARGET_FORMAT, INVALID_WINDOW, BUFFER_TOO_SMALL, BUFFER_OVERLAP, CONTEXT_MISMATCH,
 * SCRATCH_BUDGET, KERNEL_BUILD (a target format's first use on the context, as in
 * aplcl_compute_io), BLAS (a size query), OUT_OF_HOST_MEMORY, OPENCL (also: allocating scratch
 * failed). A failure while enqueueing (OPENCL, or BLAS from a GEMM) may leave part of the work
 * enqueued and the outputs undefined; later calls still wait for that part. Calls on one context
 * are ordered among themselves, head calls and aplcl_compute_io alike. */
APLCL_API aplcl_status aplcl_head_compute(aplcl_head *head, const aplcl_params *p, size_t n,
                                          size_t d, size_t c, const aplcl_head_io *io,
                                          size_t scratch_budget_bytes, cl_uint num_wait_events,
                                          const cl_event *wait_events, cl_event *event);

/* What the head's calls used, for benchmarks and capacity planning. */
typedef struct aplcl_head_stats {
    size_t chunk_rows;         /* rows per chunk of the last successful call (0: none yet) */
    size_t chunks;             /* chunks of the last call */
    size_t call_scratch_bytes; /* scratch the last call needed (<= its budget) */
    size_t blas_temp_bytes;    /* of which CLBlast's temporary buffer */
    size_t held_bytes;         /* device scratch the head holds now */
    size_t peak_held_bytes;    /* most it ever held at once */
} aplcl_head_stats;

/* Fills *stats. Errors: NULL_ARGUMENT. */
APLCL_API aplcl_status aplcl_head_get_stats(const aplcl_head *head, aplcl_head_stats *stats);
/* ==== end of linear head ==================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* APLCL_HEAD_H */
