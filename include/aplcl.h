/* aplcl.h: the public API of aplcl, the Asymmetric Polynomial Loss (APL) on OpenCL.
 *
 * One header, C11. It declares the loss parameters and presets, the OpenCL context, the
 * device-buffer entry point for training engines, the host-pointer entry point, and the CPU
 * reference. It is not a tutorial on the loss: the math is in docs/apl-spec.md (section numbers
 * below refer to it) and in the README.
 *
 * Shapes: the loss is elementwise over a row-major matrix of N rows (samples) by C columns
 * (labels). Element i = row * C + col. Offsets and sizes are counted in elements, not bytes.
 */
#ifndef APLCL_H
#define APLCL_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version (CMake reads these three lines) ---- */
#define APLCL_VERSION_MAJOR 0
#define APLCL_VERSION_MINOR 1
#define APLCL_VERSION_PATCH 0
#define APLCL_VERSION_NUMBER                                                                       \
    (APLCL_VERSION_MAJOR * 10000 + APLCL_VERSION_MINOR * 100 + APLCL_VERSION_PATCH)
/* Version of the library actually linked, as APLCL_VERSION_NUMBER. */

/* ---- symbol visibility: only the API is exported from the shared library ---- */
#if defined(APLCL_STATIC_DEFINE)
#define APLCL_API
#elif defined(_WIN32)
#ifdef APLCL_BUILDING
#define APLCL_API __declspec(dllexport)
#else
#define APLCL_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define APLCL_API __attribute__((visibility("default")))
#else
#define APLCL_API
#endif

APLCL_API unsigned aplcl_version_number(void);

/* ---- status codes ----
 * One X-macro list makes both the enum and aplcl_status_string(), so they cannot drift.
 * 0 is success, errors are negative, and a released value is never renumbered. */
#define APLCL_STATUS_MAP(X)                                                                        \
    X(APLCL_SUCCESS, 0, "success")                                                                 \
    X(APLCL_ERR_NULL_ARGUMENT, -1, "a required pointer or buffer argument is NULL")                \
    X(APLCL_ERR_INVALID_SIZE, -2, "rows or cols is zero")                                          \
    X(APLCL_ERR_SIZE_OVERFLOW, -3, "rows * cols (or its byte size, or offset + size) overflows")   \
    X(APLCL_ERR_INVALID_PARAMS, -4,                                                                \
      "invalid loss parameters (negative gamma, clip or eps outside [0,1), non-finite value, "     \
      "too many terms, unknown reduction or focusing mode, a gradient multiplier that can "        \
      "overflow float)")                                                                           \
    X(APLCL_ERR_BUFFER_TOO_SMALL, -5, "a cl_mem buffer is smaller than offset + size")             \
    X(APLCL_ERR_BUFFER_OVERLAP, -6,                                                                \
      "buffers overlap in a way other than an exact in-place gradient (grad over logits)")         \
    X(APLCL_ERR_CONTEXT_MISMATCH, -7,                                                              \
      "a buffer, queue or event belongs to another OpenCL context or device")                      \
    X(APLCL_ERR_INVALID_TARGET, -8,                                                                \
      "invalid target values found (NaN, greater than 1, or a u8 code other than 0, 1, 255)")      \
    X(APLCL_ERR_NONFINITE_LOGIT, -9, "non-finite logits found (NaN or infinity)")                  \
    X(APLCL_ERR_INVALID_TARGET_FORMAT, -10, "unknown target format")                               \
    X(APLCL_ERR_INVALID_WEIGHT, -11,                                                               \
      "invalid weight values found (negative, NaN or infinite weight or pos_weight)")              \
    X(APLCL_ERR_NO_PLATFORM, -20, "no OpenCL platform found")                                      \
    X(APLCL_ERR_NO_DEVICE, -21, "no OpenCL device matches the request")                            \
    X(APLCL_ERR_INVALID_DEVICE_SPEC, -22,                                                          \
      "malformed device string: only digits and colons, but not \"platform:device\"")              \
    X(APLCL_ERR_KERNEL_BUILD, -23,                                                                 \
      "the OpenCL kernel failed to build (see aplcl_last_build_log())")                            \
    X(APLCL_ERR_OPENCL, -24, "an OpenCL call failed (see aplcl_last_cl_error())")                  \
    X(APLCL_ERR_OUT_OF_HOST_MEMORY, -25, "host memory allocation failed")                          \
    X(APLCL_ERR_KERNEL_SOURCE, -26,                                                                \
      "the kernel source override (APLCL_KERNEL_DIR) could not be read")                           \
    X(APLCL_ERR_DEVICE_UNSUPPORTED, -27,                                                           \
      "the device lacks a feature aplcl needs (OpenCL 1.2 or a large enough work-group)")          \
    X(APLCL_ERR_SCRATCH_BUDGET, -28,                                                               \
      "the scratch budget cannot hold one row of the linear head (see aplcl_head_plan)")           \
    X(APLCL_ERR_BLAS, -29,                                                                         \
      "a CLBlast call failed (see aplcl_last_cl_error(): its CLBlastStatusCode)")                  \
    X(APLCL_ERR_INVALID_ENV, -30,                                                                  \
      "APLCL_VECTOR_WIDTH, APLCL_LOCAL_SIZE, APLCL_CONTIGUOUS, or APLCL_QUEUE has an "             \
      "invalid value")                                                                             \
    X(APLCL_ERR_INVALID_WINDOW, -31,                                                               \
      "a label window (aplcl_targets label_offset, label_count) outside the target structure, "    \
      "or on a dense target format")                                                               \
    X(APLCL_ERR_CUDA_UNAVAILABLE, -32,                                                             \
      "CUDA was asked for but libcuda.so.1 is missing or has no device (aplcl_cuda.h)")            \
    X(APLCL_ERR_CUDA, -33, "a CUDA driver call failed (see aplcl_cuda_last_error())")

typedef enum aplcl_status {
#define APLCL_STATUS_ENUM_(name, value, text) name = value,
    APLCL_STATUS_MAP(APLCL_STATUS_ENUM_)
#undef APLCL_STATUS_ENUM_
} aplcl_status;

/* ---- threads ----
 * Every function may be called from any thread. Per object:
 *   aplcl_ctx   Calls on one context from several threads at once are safe, and each gives the
 *               same bits as the same call made alone: a lock inside the context serialises what
 *               calls share (the event chain that orders them, scratch and result buffers, kernel
 *               arguments, the programs built on first use, cached constants). Only the enqueueing
 *               is serialised, and the device runs a context's calls one after another in the
 *               order they took the lock; for device work that overlaps, use one context per
 *               queue. aplcl_host_compute* holds the lock while enqueueing (and briefly to take
 *               a buffer set of its own), not while copying, mapping or waiting.
 *   aplcl_head  Likewise: aplcl_head_compute, aplcl_head_plan, aplcl_head_scratch_bytes and
 *               aplcl_head_get_stats on one head (or on heads of one context) take the
 *               context's lock, so any of them may run from several threads at once.
 *   destroy     aplcl_ctx_destroy and aplcl_head_destroy must not overlap any other call on the
 *               object (or, for a context, on a head of it); aplcl cannot detect this.
 *   values      aplcl_params, aplcl_io, aplcl_head_io, aplcl_targets are read during the call
 *               only; threads may share one read-only. Buffers: aplcl orders its own work through
 *               events; two concurrent calls writing one buffer run in lock order, as in any
 *               OpenCL program.
 *   errors      aplcl_last_cl_error and aplcl_last_build_log are per thread (thread-local).
 *   counts      aplcl_ctx_last_counts reports the host call that finished last on the context;
 *               with several threads, use the returned status or a counts buffer instead.
 *   the rest    parameter presets, conversions, packing, the CPU reference, aplcl_list_devices
 *               share no state. */

/* A static, human-readable description; "unknown aplcl status" for a value not in the list. */
APLCL_API const char *aplcl_status_string(aplcl_status status);

/* The raw OpenCL error code behind the last APLCL_ERR_OPENCL (or device-selection error) on the
 * calling thread; CL_SUCCESS if none yet. */
APLCL_API cl_int aplcl_last_cl_error(void);

/* The build log of the last failed kernel build on the calling thread ("" if none). Owned by the
 * library; valid until the next aplcl_ctx_create* on this thread. */
APLCL_API const char *aplcl_last_build_log(void);

/* ---- loss parameters (spec sections 2-4) ---- */

/* Most leading Taylor coefficients per side. Terms past n_alpha / n_beta keep BCE's 1/j and are
 * summed exactly by the logarithm, so 8 is plenty. */
#define APLCL_MAX_TERMS 8

typedef enum aplcl_reduction {
    APLCL_REDUCE_SUM = 0,  /* loss = sum of element losses (the reference) */
    APLCL_REDUCE_MEAN = 1, /* loss = sum / normalizer (normalizer <= 0: non-ignored count) */
    APLCL_REDUCE_NONE = 2  /* no reduction: gradient of each element's own loss; the scalar
                              loss output still receives the plain sum, for logging */
} aplcl_reduction;

typedef struct aplcl_params {
    float gamma_pos;              /* focusing exponent of positives, >= 0: w+ = (1-p)^gamma_pos */
    float gamma_neg;              /* focusing exponent of negatives, >= 0: w- = p_m^gamma_neg */
    float clip;                   /* probability shift m in [0,1): p_m = max(p - m, 0) */
    float eps;                    /* floor before the log, [0,1); 0 = exact log-sigmoid */
    int n_alpha;                  /* number of leading positive coefficients, 0..MAX_TERMS */
    float alpha[APLCL_MAX_TERMS]; /* alpha_1..alpha_n (BCE has alpha_j = 1/j) */
    int n_beta;                   /* number of leading negative coefficients, 0..MAX_TERMS */
    float beta[APLCL_MAX_TERMS];  /* beta_1..beta_n (BCE has beta_j = 1/j) */
    int focus_grad;               /* 0: focusing weight detached (constant), 1: differentiated */
    aplcl_reduction reduction;    /* how the loss and its gradient are reduced */
    double normalizer;            /* MEAN only: divide by this; <= 0 means the number of
                                     non-ignored elements (an engine passes its global count);
                                     > 0 must be a normal float, FLT_MIN..FLT_MAX */
    float grad_scale;             /* gradient multiplier (loss scaling, upstream gradient); its
                                     size is bounded, see aplcl_params_validate */
} aplcl_params;

/* Reference APL (spec section 3): gamma_pos 0, gamma_neg 4, clip 0.05, eps 1e-8,
 * alpha = (0, 1.75), no beta, detached focusing, SUM, grad_scale 1. */
APLCL_API aplcl_params aplcl_params_default(void);
/* Binary cross-entropy: no focusing, no clip, eps 0 (exact log-sigmoid), BCE coefficients. */
APLCL_API aplcl_params aplcl_params_bce(void);
/* Focal loss: gamma on both sides, no clip, eps 0, BCE coefficients, detached weights. */
APLCL_API aplcl_params aplcl_params_focal(float gamma);
/* Asymmetric loss (Ridnik et al.): the given gammas and clip, eps 1e-8, BCE coefficients. */
APLCL_API aplcl_params aplcl_params_asl(float gamma_neg, float gamma_pos, float clip);
/* Poly-1 (Leng et al.): BCE with alpha_1 = beta_1 = 1 + epsilon, eps 0. */
APLCL_API aplcl_params aplcl_params_poly1(float epsilon);

/* APLCL_SUCCESS or APLCL_ERR_INVALID_PARAMS (NULL: APLCL_ERR_NULL_ARGUMENT). Every entry point
 * (device, host, head, reference) applies exactly this check. Besides the ranges above, the
 * gradient multiplier must keep every element of dloss/dlogits finite in float:
 *   m = grad_scale / normalizer   for MEAN with normalizer > 0 (normalizer in [FLT_MIN, FLT_MAX])
 *   m = grad_scale                otherwise (MEAN by count divides by a count >= 1, so |m| only
 *                                 shrinks; the count is found at run time, the bound is not)
 *   B = max over the two sides of |a_1| + sum_j j |c_j| + focus_grad * gamma * (1 + sum_j |c_j|)
 *       with a_1 = alpha_1 (beta_1; 1 without coefficients), c_j = alpha_j - 1/j (beta_j - 1/j),
 *       gamma = gamma_pos (gamma_neg): a bound on |dl/dx| for every finite logit and valid target
 *   valid when max(|m|, 1) * B <= FLT_MAX / 2 (the half leaves room for float rounding).
 * The defaults have B = 3.5 (5 with focus_grad), so |grad_scale| up to about 4.8e37 passes; a
 * MEAN normalizer of 1e-39 or grad_scale = FLT_MAX does not. Only dloss/dlogits is covered: a
 * gradient accumulated into (grad_accumulate, the head's dW and db) or multiplied on (the head's
 * dX and dW products) can still overflow at such scales, as the loss itself can for huge
 * coefficients or logits. */
APLCL_API aplcl_status aplcl_params_validate(const aplcl_params *p);

/* ---- target formats ----
 * F32:  float per label: 1 positive, 0 negative, (0,1) soft, negative value (e.g. -1) ignored;
 *       NaN or > 1 is invalid (counted, contributes nothing).
 * U8:   uint8 per label: 1 positive, 0 negative, 255 ignored; any other code is invalid.
 * BITS: 1 bit per label, rows padded to whole 32-bit words: row r starts at word
 *       r * APLCL_BITS_WORDS(C); label c is bit (c % 32) of word c / 32 (least significant bit
 *       first); set = positive. An optional ignore mask in the same layout: set = ignored.
 * CSR:  positives only (the natural format for many labels and few positives): row pointers
 *       (N+1 cl_ulong, entries rp[r]..rp[r+1]-1 of the index array belong to row r, counted from
 *       the index buffer's offset) and label indices (cl_uint, ascending within a row); every label
 *       not listed is a negative. Indices >= C, unsorted rows and row pointers that decrease or
 *       pass nnz are counted as invalid targets and never read past nnz. */
typedef enum aplcl_target_format {
    APLCL_TARGET_F32 = 0,
    APLCL_TARGET_U8 = 1,
    APLCL_TARGET_BITS = 2,
    APLCL_TARGET_CSR = 3
} aplcl_target_format;
#define APLCL_BITS_WORDS(cols) (((cols) + 31) / 32)
#define APLCL_TARGET_U8_IGNORE 255

/* Counters the kernel fills (aplcl_compute's optional `counts` buffer, aplcl_ctx_last_counts). */
typedef enum aplcl_count_index {
    APLCL_COUNT_ELEMENTS = 0, /* elements whose target is valid and not ignored (the MEAN
                                 denominator; decided by the target alone, so an element
                                 with a non-finite logit still counts here) */
    APLCL_COUNT_INVALID_TARGETS = 1,
    APLCL_COUNT_NONFINITE_LOGITS = 2,
    APLCL_COUNT_INVALID_WEIGHTS = 3, /* non-ignored elements whose weight or pos_weight is
                                        negative or not finite (weighted calls only; they add no
                                        loss and no gradient but still count in ELEMENTS) */
    APLCL_COUNT_LEN = 4 /* a counts buffer holds this many cl_ulong (3 before weights) */
} aplcl_count_index;

/* ---- context ---- */
typedef struct aplcl_ctx aplcl_ctx;

/* Creates a context with its own OpenCL context and in-order queue (profiling enabled) and builds
 * the kernels once. device:
 *   NULL or ""  $APLCL_DEVICE if set and not empty (same grammar), else the first GPU, else the
 *               first device;
 *   "P:D"       device D of platform P, both decimal (indices as `aplcl devices` lists them).
 *               A string made only of digits and colons must have exactly this form: "0:",
 *               ":1", "1:2:3" are APLCL_ERR_INVALID_DEVICE_SPEC; indices past the last platform
 *               or device (2^32 included: nothing wraps) are APLCL_ERR_NO_DEVICE;
 *   otherwise   the first device whose "platform device" name contains the string, ignoring case
 *               ("pthread", "nvidia", "gfx90a:sramecc+", "7900"); none: APLCL_ERR_NO_DEVICE.
 * Errors: NULL_ARGUMENT, NO_PLATFORM, NO_DEVICE, INVALID_DEVICE_SPEC, INVALID_ENV, KERNEL_BUILD
 * (log: aplcl_last_build_log), KERNEL_SOURCE, DEVICE_UNSUPPORTED, OPENCL, OUT_OF_HOST_MEMORY.
 * On error *out is NULL.
 * Environment: APLCL_KERNEL_DIR (development only) reads the kernel .cl files from that folder
 * instead of the embedded copy; APLCL_CACHE_DIR sets the program-binary cache folder ("off"
 * disables it; default $XDG_CACHE_HOME/aplcl or $HOME/.cache/aplcl): a cached file is used only
 * when its recorded platform, device, driver, OpenCL C version, build options and source hash
 * match and its checksum holds; any other file (damaged, foreign, not a regular file) is ignored
 * and atomically replaced by a fresh build, and an unwritable folder only costs the build, so
 * the cache never changes a result and processes may share it; APLCL_VECTOR_WIDTH (1, 2, 4,
 * 8, 16), APLCL_LOCAL_SIZE (a power of two, 1..65536; more than the device's largest work-group
 * means that largest) and APLCL_CONTIGUOUS (0: strided, 1: consecutive work layout) override the
 * kernel shape chosen for the device (CPU: its preferred float width, 32, consecutive; GPU: 4,
 * 256, strided); APLCL_QUEUE (0 off, 1 default, 2 on every call: tests) sets the CPU path that
 * queues sparse steps (few elements needing math) and computes them as full vectors, used for
 * calls with enough work per work-item. Unset or
 * empty means "not given"; any other value must be exactly one of those decimal numbers (no
 * sign, space or suffix), else creation fails with APLCL_ERR_INVALID_ENV rather than run a shape
 * nobody asked for. Results are bit-identical across calls for one shape, queued or not. Another
 * shape gives the same bits for every per-element gradient and loss (the kernel evaluates exp, log
 * and log1p as fixed polynomials on every lane) and may differ only in the last bits of the reduced
 * loss, which it sums in another order. */
APLCL_API aplcl_status aplcl_ctx_create(aplcl_ctx **out, const char *device);

/* Same, on the caller's queue (and its context and device). The queue is retained and released by
 * aplcl_ctx_destroy. In-order and out-of-order queues both work: aplcl orders its own launches
 * with events. */
APLCL_API aplcl_status aplcl_ctx_create_from_queue(aplcl_ctx **out, cl_command_queue queue);

/* Releases everything the context owns; it does not wait for queued work. NULL is fine. */
APLCL_API void aplcl_ctx_destroy(aplcl_ctx *ctx);

/* The context's queue, context and device (owned by the context; do not release). */
APLCL_API cl_command_queue aplcl_ctx_queue(const aplcl_ctx *ctx);
APLCL_API cl_context aplcl_ctx_cl_context(const aplcl_ctx *ctx);
APLCL_API cl_device_id aplcl_ctx_device(const aplcl_ctx *ctx);
/* "platform name / device name", owned by the context. */
APLCL_API const char *aplcl_ctx_device_name(const aplcl_ctx *ctx);

/* ---- device-buffer entry point (for training engines) ----
 *
 * Enqueues the fused loss and gradient over rows x cols elements on the context's queue and
 * returns without waiting. One kernel pass reads each logit and target once and writes each
 * gradient (and per-element loss) once; a small second kernel reduces per-group partials in a
 * fixed order (deterministic: same inputs, same device, same bits). With MEAN and no
 * caller-given normalizer and a gradient requested, a cheap target-only count pass runs first.
 *
 *   logits     cl_mem of float, elements [logits_offset, logits_offset + rows*cols)
 *   targets    cl_mem of float (F32) or uint8 (U8), same shape, from targets_offset
 *   grad       NULL (forward only) or cl_mem of float: gradient of the reduced loss times
 *              grad_scale. May be the logits buffer with the same offset (in place).
 *   elem_loss  NULL or cl_mem of float: per-element losses (unreduced, unscaled)
 *   loss       NULL or cl_mem of float: one float at loss_offset, the reduced loss
 *   counts     NULL or cl_mem of cl_ulong: APLCL_COUNT_LEN counters at counts_offset
 *   wait list  events to wait for before reading anything (may be 0/NULL)
 *   event      NULL or receives an event that completes when every output is written; the
 *              caller releases it
 *
 * Invalid targets and non-finite logits contribute no loss and a zero gradient; they are counted
 * in `counts` (check them, or use aplcl_host_compute, which turns them into an error status).
 * Only the dense target formats (F32, U8) and float storage: aplcl_compute_io takes the others.
 * Errors (nothing is enqueued): NULL_ARGUMENT, INVALID_SIZE, SIZE_OVERFLOW, INVALID_PARAMS,
 * INVALID_TARGET_FORMAT, INVALID_WINDOW (aplcl_compute_io), BUFFER_TOO_SMALL, BUFFER_OVERLAP,
 * CONTEXT_MISMATCH, OPENCL. Calls on one context, from any threads, are ordered among themselves
 * (they share scratch memory; see "threads"); use one context per queue for concurrent device work.
 */
APLCL_API aplcl_status aplcl_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                     size_t cols, cl_mem logits, size_t logits_offset,
                                     cl_mem targets, size_t targets_offset,
                                     aplcl_target_format target_format, cl_mem grad,
                                     size_t grad_offset, cl_mem elem_loss, size_t elem_loss_offset,
                                     cl_mem loss, size_t loss_offset, cl_mem counts,
                                     size_t counts_offset, cl_uint num_wait_events,
                                     const cl_event *wait_events, cl_event *event);

/* ---- the general device entry point: every storage type and target format ----
 *
 * aplcl_compute is this call with F32 storage, dense targets and no accumulation. */

/* Storage of logits and gradient. Math is always float32; loads widen, stores round to nearest
 * even. F16 is IEEE half (vload_half/vstore_half); BF16 is the top half of a float32, stored as
 * 16-bit words. Per-element losses and the reduced loss are always float. */
typedef enum aplcl_dtype {
    APLCL_DTYPE_F32 = 0,
    APLCL_DTYPE_F16 = 1,
    APLCL_DTYPE_BF16 = 2
} aplcl_dtype;

/* Targets in any format. Unused fields must be NULL / 0. */
typedef struct aplcl_targets {
    aplcl_target_format format;
    cl_mem data;        /* F32, U8: N*C values; BITS: N*APLCL_BITS_WORDS(C) cl_uint words;
                           CSR: N+1 cl_ulong row pointers */
    size_t data_offset; /* in elements of data's type */
    cl_mem indices;     /* CSR: cl_uint label indices */
    size_t indices_offset;
    size_t nnz;           /* CSR: number of indices from indices_offset */
    cl_mem ignore;        /* BITS only, optional: ignore mask, same layout as data */
    size_t ignore_offset; /* in words */
    /* Label window (BITS, CSR): 0 / 0 (the default) reads rows of C labels. Otherwise the
     * structure's rows hold label_count labels (BITS: APLCL_BITS_WORDS(label_count) words a row;
     * CSR: global label indices, < label_count) and the call's C columns are labels
     * label_offset .. label_offset + C - 1 of them, read in place (no re-packing): a label shard
     * of a wider problem. Every extent is checked on the whole structure. The window's elements
     * are what the call counts (MEAN by count divides by the window's count: a sharded engine
     * passes the global count as the normalizer). CSR's invalid entries are counted by the window
     * that owns them (bad row pointers: the window at label 0; an index >= label_count: the
     * window holding the last label; an unsorted index: the window holding it), so the counts of
     * a partition of the labels sum to the unsharded counts. Dense formats (F32, U8) take no
     * window: label_count must be 0 or C and label_offset 0. Errors: APLCL_ERR_INVALID_WINDOW
     * (label_offset + C > label_count, or a window on a dense format). */
    size_t label_count;
    size_t label_offset;
} aplcl_targets;

/* ---- weights (optional; off by default and free when absent) ----
 * As PyTorch's BCEWithLogitsLoss has them, for every preset. With pos_weight P (one factor per
 * label c) and weight W (the element's weight), element (r, c) with target y has the loss
 *     l = W * ( y * P[c] * l+  +  (1 - y) * l- )          (spec section 2's l+ and l-)
 * and the gradient is exactly its derivative (both focusing modes): soft targets weight each side
 * as written, so P scales only the positive side. W is given per element (N x C values, row-major),
 * per label (C values, W = weight[c]) or per row (N values, W = weight[r]).
 * MEAN divides by the number of non-ignored elements (or the caller's normalizer), NOT by the
 * sum of the weights: this is what torch.nn.BCEWithLogitsLoss(weight=..., reduction='mean') does.
 * Weights must be finite and >= 0 (0 is allowed: the element adds nothing). A non-ignored element
 * with a negative or non-finite W or P[c] adds no loss and no gradient, still counts as an element
 * for MEAN, and is counted in APLCL_COUNT_INVALID_WEIGHTS (the host calls return
 * APLCL_ERR_INVALID_WEIGHT); weights of ignored or invalid-target elements are not read for checks.
 * aplcl_params_validate's bound on the gradient does not include the weights: a weight of w
 * multiplies it by w. Weights are float32 in every storage type of the logits. The device program
 * that reads weights is built on a weighted call's first use (APL_WEIGHTED); unweighted calls run
 * a program without any weight code. */
typedef enum aplcl_weight_kind {
    APLCL_WEIGHT_ELEMENT = 0, /* N*C floats, one per element */
    APLCL_WEIGHT_LABEL = 1,   /* C floats, one per label (column) */
    APLCL_WEIGHT_ROW = 2      /* N floats, one per row (sample) */
} aplcl_weight_kind;

/* Every buffer of one call. Offsets count elements of the buffer's own type. */
typedef struct aplcl_io {
    aplcl_dtype dtype; /* storage of logits and grad */
    cl_mem logits;     /* N*C values of dtype */
    size_t logits_offset;
    aplcl_targets targets;
    cl_mem grad; /* NULL (forward only) or N*C values of dtype; may be logits with the
                    same offset (in place, not with accumulate) */
    size_t grad_offset;
    int grad_accumulate; /* 0: grad = dL/dx, 1: grad += dL/dx (engines summing micro-batches) */
    cl_mem elem_loss;    /* NULL or N*C floats */
    size_t elem_loss_offset;
    cl_mem loss; /* NULL or one float: the reduced loss */
    size_t loss_offset;
    cl_mem counts; /* NULL or APLCL_COUNT_LEN cl_ulong */
    size_t counts_offset;
    cl_mem pos_weight; /* NULL (all 1) or C floats: the positive side's factor per label */
    size_t pos_weight_offset;
    cl_mem weight; /* NULL (all 1) or floats laid out as weight_kind says */
    size_t weight_offset;
    aplcl_weight_kind weight_kind; /* read only when weight is not NULL */
} aplcl_io;

/* A zeroed aplcl_io with F32 storage and dense F32 targets: fill in the buffers you use. */
APLCL_API aplcl_io aplcl_io_default(void);

/* Same contract as aplcl_compute (enqueue only, never blocks, same errors), for any io. The
 * program for a (dtype, target format) pair is built on its first use on the context (F32 with
 * F32 or U8 targets at creation), so a first call may return APLCL_ERR_KERNEL_BUILD. */
APLCL_API aplcl_status aplcl_compute_io(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                        size_t cols, const aplcl_io *io, cl_uint num_wait_events,
                                        const cl_event *wait_events, cl_event *event);

/* Builds the program for (dtype, target format) now, so that no later aplcl_compute_io call
 * compiles. Errors: NULL_ARGUMENT, INVALID_PARAMS (dtype), INVALID_TARGET_FORMAT, KERNEL_BUILD,
 * OPENCL. */
APLCL_API aplcl_status aplcl_ctx_prepare(aplcl_ctx *ctx, aplcl_dtype dtype,
                                         aplcl_target_format format);

/* ---- host-side format helpers (no OpenCL needed) ----
 * For preparing device buffers and checking results. Conversions round to nearest even and
 * keep NaN and infinities; f16 overflows to infinity like vstore_half_rte. */
APLCL_API void aplcl_f32_to_f16(const float *in, uint16_t *out, size_t n);
APLCL_API void aplcl_f16_to_f32(const uint16_t *in, float *out, size_t n);
APLCL_API void aplcl_f32_to_bf16(const float *in, uint16_t *out, size_t n);
APLCL_API void aplcl_bf16_to_f32(const uint16_t *in, float *out, size_t n);

/* Dense float targets (1 positive, 0 negative, negative = ignored) to BITS words
 * (rows * APLCL_BITS_WORDS(cols) each, padding bits zero). ignore may be NULL when nothing is
 * ignored. Errors: NULL_ARGUMENT, INVALID_SIZE, SIZE_OVERFLOW, INVALID_TARGET (a soft, NaN or
 * > 1 target, or an ignored one with ignore == NULL; nothing meaningful is written then). */
APLCL_API aplcl_status aplcl_pack_bits(size_t rows, size_t cols, const float *dense, uint32_t *bits,
                                       uint32_t *ignore);
/* Dense float targets (1 positive, 0 negative) to CSR: row_ptr (rows + 1 values) and the
 * positives' label indices, ascending. *nnz receives the number of positives; with indices ==
 * NULL (or too small a capacity) only the count is computed and APLCL_ERR_BUFFER_TOO_SMALL is
 * returned when indices != NULL. Ignored, soft, NaN or > 1 targets: APLCL_ERR_INVALID_TARGET
 * (CSR cannot express them). cols must fit in 32 bits. */
APLCL_API aplcl_status aplcl_pack_csr(size_t rows, size_t cols, const float *dense,
                                      uint64_t *row_ptr, uint32_t *indices, size_t capacity,
                                      size_t *nnz);

/* ---- host-pointer entry point (blocking) ----
 *
 * Computes what aplcl_compute computes, on the caller's arrays, and returns when every output is
 * written. logits and targets hold rows*cols values each; grad and elem_loss (rows*cols floats)
 * and loss (the reduced loss, double) may each be NULL; grad may equal logits (in place). Returns
 * APLCL_ERR_INVALID_TARGET or APLCL_ERR_NONFINITE_LOGIT (after writing the outputs, with those
 * elements at 0) when the kernel found such values; aplcl_ctx_last_counts tells how many.
 *
 * Memory: on a device that shares the host's memory (CL_DEVICE_HOST_UNIFIED_MEMORY: CPU devices
 * such as PoCL, integrated GPUs) the arrays are used in place (CL_MEM_USE_HOST_PTR, outputs made
 * visible with a map and unmap): nothing is copied, and results are bit-identical to the copy
 * path. Arrays are copied instead when a pointer is not aligned to its element size or an output
 * overlaps another array other than the exact in-place gradient (the copy keeps copy semantics).
 * Arrays aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN (128 bytes on PoCL) are the safest bet for no
 * copy: a driver may copy a less aligned one internally. On other devices the inputs are copied
 * into device buffers the context keeps across calls (grown when a call needs more; one set per
 * call running at once, released by aplcl_ctx_destroy) and the outputs read back. */
APLCL_API aplcl_status aplcl_host_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                          size_t cols, const float *logits, const float *targets,
                                          float *grad, float *elem_loss, double *loss);
/* Same with uint8 targets (0, 1, 255 = ignore). */
APLCL_API aplcl_status aplcl_host_compute_u8(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                             size_t cols, const float *logits,
                                             const uint8_t *targets, float *grad, float *elem_loss,
                                             double *loss);
/* Same with any storage type for logits and grad (f16 and bf16 as 16-bit words, as in aplcl_io)
 * and F32 or U8 targets (else APLCL_ERR_INVALID_TARGET_FORMAT; an unknown dtype is
 * APLCL_ERR_INVALID_PARAMS). grad holds rows*cols values of dtype; elem_loss stays float. */
APLCL_API aplcl_status aplcl_host_compute_typed(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                                size_t cols, aplcl_dtype dtype, const void *logits,
                                                aplcl_target_format target_format,
                                                const void *targets, void *grad, float *elem_loss,
                                                double *loss);
/* Host-side weights for aplcl_host_compute_weighted and aplcl_ref_compute_weighted (see
 * "weights"): NULL pointers mean no weight. pos_weight holds C floats; weight N*C, C or N floats
 * by weight_kind. */
typedef struct aplcl_weights {
    const float *pos_weight;
    const float *weight;
    aplcl_weight_kind weight_kind;
} aplcl_weights;

/* aplcl_host_compute_typed with weights (w may be NULL: unweighted). The weights are copied to
 * the device for the call. Besides the errors of aplcl_host_compute_typed: INVALID_PARAMS (an
 * unknown weight_kind), INVALID_WEIGHT (after writing the outputs, when the kernel found invalid
 * weights; checked after INVALID_TARGET and NONFINITE_LOGIT). */
APLCL_API aplcl_status aplcl_host_compute_weighted(aplcl_ctx *ctx, const aplcl_params *p,
                                                   size_t rows, size_t cols, aplcl_dtype dtype,
                                                   const void *logits,
                                                   aplcl_target_format target_format,
                                                   const void *targets, const aplcl_weights *w,
                                                   void *grad, float *elem_loss, double *loss);

/* The counters of the aplcl_host_compute* call that finished last on this context
 * (APLCL_COUNT_LEN values); with several threads calling, which one that was is not defined. */
APLCL_API aplcl_status aplcl_ctx_last_counts(const aplcl_ctx *ctx,
                                             uint64_t counts[APLCL_COUNT_LEN]);

/* ---- CPU reference (double precision, no OpenCL needed) ----
 *
 * Same semantics as aplcl_host_compute, computed in double with the stable forms of the spec
 * (ln p as -softplus(-x)), summed with compensation. The yardstick every device is checked
 * against. counts may be NULL. It takes dense float targets only, so no label window: the
 * reference of a window is the same call on those columns of the logits and targets. */
APLCL_API aplcl_status aplcl_ref_compute(const aplcl_params *p, size_t rows, size_t cols,
                                         const float *logits, const float *targets, double *grad,
                                         double *elem_loss, double *loss);
/* Same, also returning the counters (may be NULL). */
APLCL_API aplcl_status aplcl_ref_compute_counts(const aplcl_params *p, size_t rows, size_t cols,
                                                const float *logits, const float *targets,
                                                double *grad, double *elem_loss, double *loss,
                                                uint64_t counts[APLCL_COUNT_LEN]);

/* Same with weights (w may be NULL), in double: l = W (y P[c] l+ + (1 - y) l-) exactly as
 * "weights" defines it. Returns INVALID_WEIGHT after INVALID_TARGET and NONFINITE_LOGIT. */
APLCL_API aplcl_status aplcl_ref_compute_weighted(const aplcl_params *p, size_t rows, size_t cols,
                                                  const float *logits, const float *targets,
                                                  const aplcl_weights *w, double *grad,
                                                  double *elem_loss, double *loss,
                                                  uint64_t counts[APLCL_COUNT_LEN]);

/* ---- device listing ---- */
typedef struct aplcl_device_info {
    unsigned platform_index, device_index;
    char platform_name[128];
    char device_name[128];
    char device_version[64];
    char driver_version[64];
    cl_device_type type;
    unsigned compute_units;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    int has_fp64;
} aplcl_device_info;

/* Fills up to `capacity` entries (infos may be NULL with capacity 0) and sets *count to the total
 * number of devices across all platforms. */
APLCL_API aplcl_status aplcl_list_devices(aplcl_device_info *infos, size_t capacity, size_t *count);

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
 * CLBlast: the GEMMs run through CLBlast's C API on the context's queue. CLBlast compiles its
 * SGEMM kernels once per OpenCL context, which aplcl_head_create triggers, so later calls do not
 * compile. CLBlast keeps what it compiles in a process-wide cache that holds each OpenCL
 * context alive; its C API can only empty the whole cache (CLBlastClearCache), so aplcl does
 * that when the last aplcl head in the process is destroyed (not while any head lives, so live
 * heads never recompile). Code of yours that calls CLBlast itself then recompiles on its next
 * call (fast where the driver caches binaries, as PoCL and most GPU drivers do). CLBlast takes no
 * wait lists: on an out-of-order queue each GEMM is fenced with
 * clEnqueueBarrierWithWaitList, which also holds back the caller's unrelated commands enqueued
 * after it. On an in-order queue nothing extra is enqueued. */

/* A linear head on one aplcl context: its kernels and its scratch memory. */
typedef struct aplcl_head aplcl_head;

/* Creates a head on ctx: builds its small kernels (bias broadcast, column sums, gradient scale, the
 * fixed-order loss accumulation) and has CLBlast compile its SGEMM program by running one 1x1x1
 * SGEMM on ctx's queue. Blocks while compiling (seconds on a CPU device), holding the context's
 * lock (other calls on ctx wait). Allocates no scratch: the first aplcl_head_compute does. ctx
 * must outlive the head; for threads see "threads" at the top. Errors: NULL_ARGUMENT, KERNEL_BUILD
 * (log: aplcl_last_build_log), BLAS, OPENCL, OUT_OF_HOST_MEMORY. On error *out is NULL. */
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
    cl_mem pos_weight; /* NULL or C floats, as in aplcl_io (see "weights") */
    size_t pos_weight_offset;
    cl_mem weight; /* NULL or N*C, C or N floats by weight_kind, as in aplcl_io */
    size_t weight_offset;
    aplcl_weight_kind weight_kind;
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
 * Errors (nothing is enqueued): NULL_ARGUMENT, INVALID_SIZE, SIZE_OVERFLOW (also: CLBlast indexes
 * with 32-bit ints, so every matrix's offset + extent must stay below 2^31 elements),
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
#endif /* APLCL_H */
