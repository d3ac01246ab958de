/* aplcl.h: the public API of aplcl, the Asymmetric Polynomial Loss (APL) on OpenCL.
 *
 * One header, C11. It declares the loss parameters and presets, the OpenCL context and its
 * options, the device-buffer entry points for training engines, the host-pointer entry points,
 * and the CPU reference. The linear head (a GEMM layer fused with the loss) is in aplcl_head.h. It
 * is not a tutorial on the loss: the math is in docs/apl-spec.md (section numbers below refer to
 * it) and in the README.
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
#define APLCL_VERSION_MAJOR 1
#define APLCL_VERSION_MINOR 0
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
    X(APLCL_ERR_INVALID_SIZE, -2,                                                                  \
      "a size that must not be zero is zero (the head's features D, a plan's chunk_rows)")         \
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
      "the kernel source override (aplcl_ctx_options.kernel_dir) could not be read")               \
    X(APLCL_ERR_DEVICE_UNSUPPORTED, -27,                                                           \
      "the device lacks a feature aplcl needs (OpenCL 1.2 or a large enough work-group)")          \
    X(APLCL_ERR_SCRATCH_BUDGET, -28,                                                               \
      "the scratch budget cannot hold one row of the linear head (see aplcl_head_plan)")           \
    X(APLCL_ERR_BLAS, -29,                                                                         \
      "a CLBlast call failed (see aplcl_last_cl_error(): its CLBlastStatusCode)")                  \
    X(APLCL_ERR_INVALID_OPTION, -30,                                                               \
      "an aplcl_ctx_options field has an invalid value (vector_width, local_size, layout, "        \
      "sparse_queue)")                                                                             \
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
 *               queue. aplcl_host_compute(_io) holds the lock while enqueueing (and briefly to take
 *               a buffer set of its own), not while copying, mapping or waiting.
 *   aplcl_head  Likewise: aplcl_head_compute, aplcl_head_plan, aplcl_head_scratch_bytes and
 *               aplcl_head_get_stats on one head (or on heads of one context) take the
 *               context's lock, so any of them may run from several threads at once.
 *   destroy     aplcl_ctx_destroy and aplcl_head_destroy must not overlap any other call on the
 *               object (or, for a context, on a head of it); aplcl cannot detect this.
 *   values      aplcl_params, aplcl_io, aplcl_head_io, aplcl_targets, aplcl_weights and
 *               aplcl_ctx_options are read during the call only; threads may share one
 *               read-only (aplcl_host_io and aplcl_ref_io are written: one per call).
 *               Buffers: aplcl orders its own work through events; two concurrent calls writing
 *               one buffer run in lock order, as in any OpenCL program.
 *   errors      aplcl_last_cl_error and aplcl_last_build_log are per thread (thread-local).
 *   counts      every call returns its own counters (a counts buffer, or the counts field of
 *               aplcl_host_io and aplcl_ref_io): a context keeps no result of a call.
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

/* Counters every call fills (a `counts` buffer of the device calls, the counts field of
 * aplcl_host_io and aplcl_ref_io). */
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

/* Work layout of the loss kernel (aplcl_ctx_options.layout). */
typedef enum aplcl_layout {
    APLCL_LAYOUT_AUTO = 0,      /* the device's default: contiguous on CPUs, strided elsewhere */
    APLCL_LAYOUT_STRIDED = 1,   /* work-items take strided steps (coalesced loads on GPUs) */
    APLCL_LAYOUT_CONTIGUOUS = 2 /* each work-item takes consecutive steps (warm caches on CPUs) */
} aplcl_layout;

/* The CPU path that queues sparse steps (few elements needing math) and computes them as full
 * vectors (aplcl_ctx_options.sparse_queue). It changes no bit of any result. */
typedef enum aplcl_sparse_queue {
    APLCL_SPARSE_QUEUE_AUTO = 0,  /* on calls with enough work per work-item (the default) */
    APLCL_SPARSE_QUEUE_OFF = 1,   /* never */
    APLCL_SPARSE_QUEUE_ALWAYS = 2 /* on every call it can serve, short ones too (for tests) */
} aplcl_sparse_queue;

/* How aplcl_ctx_create_ex makes a context. Zero (or aplcl_ctx_options_default()) means "the
 * default" in every field; the kernel-shape fields are for tuning and tests, and no choice changes
 * a per-element result: another shape can change only the last bits of the reduced loss (summed
 * in another order), the queue and the kernel folder change nothing. Read during the call only. */
typedef struct aplcl_ctx_options {
    const char *device;     /* which device (ignored with queue): NULL or "" = $APLCL_DEVICE when
                               set and not empty, else the first GPU, else the first device;
                               "P:D" = device D of platform P (decimal, as `aplcl devices` lists
                               them; a string of only digits and colons must have exactly this
                               form, else INVALID_DEVICE_SPEC; an index past the last platform or
                               device, 2^32 included, is NO_DEVICE); anything else = the first
                               device whose "platform device" name contains it, ignoring case
                               ("pthread", "nvidia", "7900"; none: NO_DEVICE) */
    cl_command_queue queue; /* NULL: a new OpenCL context and in-order queue (profiling on) on
                               the chosen device; else the caller's queue, with its context and
                               device (retained, released by aplcl_ctx_destroy; in-order and
                               out-of-order queues both work: aplcl orders its launches with
                               events) */
    unsigned vector_width;  /* elements per work-item step: 0 = the device's choice (CPU: its
                               preferred float width, 4 to 16; GPU: 4; other: 1), else 1, 2, 4, 8
                               or 16 */
    unsigned local_size;    /* work-group size: 0 = the device's choice (CPU 32, GPU 256), else a
                               power of two up to 65536; more than the device's largest
                               work-group means that largest */
    aplcl_layout layout;    /* work layout, APLCL_LAYOUT_* */
    aplcl_sparse_queue sparse_queue; /* the sparse-step queue, APLCL_SPARSE_QUEUE_* */
    const char *cache_dir;  /* the program-binary cache folder: NULL = $APLCL_CACHE_DIR when set
                               and not empty, else $XDG_CACHE_HOME/aplcl, else $HOME/.cache/aplcl;
                               "off" = no cache. A cached file is used only when its recorded
                               platform, device, driver, OpenCL C version, build options and
                               source hash match and its checksum holds; any other file (damaged,
                               foreign, not a regular file) is ignored and atomically replaced, an
                               unwritable folder only costs the build: the cache never changes a
                               result, and processes may share it */
    const char *kernel_dir; /* development only: NULL = the kernels embedded in the library;
                               else read the kernels' .cl and .h files from this folder
                               (unreadable: KERNEL_SOURCE) */
} aplcl_ctx_options;

/* Every field zero: the defaults above. */
APLCL_API aplcl_ctx_options aplcl_ctx_options_default(void);

/* Creates a context as *opts says (NULL: the defaults) and builds the kernels of F32 logits with
 * F32 and U8 targets (others are built on first use, or by aplcl_ctx_prepare).
 * Environment: this call is the only place the library reads it, on the caller's thread, and
 * only for what opts leaves unset: APLCL_DEVICE (the device, when opts->device is NULL or "" and
 * opts->queue NULL) and APLCL_CACHE_DIR (when opts->cache_dir is NULL; also XDG_CACHE_HOME and
 * HOME for the default folder). Unset or empty means "not given".
 * Errors: NULL_ARGUMENT, NO_PLATFORM, NO_DEVICE, INVALID_DEVICE_SPEC, INVALID_OPTION (a field out
 * of its range), KERNEL_BUILD (log: aplcl_last_build_log), KERNEL_SOURCE, DEVICE_UNSUPPORTED,
 * OPENCL, OUT_OF_HOST_MEMORY. On error *out is NULL. */
APLCL_API aplcl_status aplcl_ctx_create_ex(aplcl_ctx **out, const aplcl_ctx_options *opts);

/* aplcl_ctx_create_ex with the defaults and options.device = device. */
APLCL_API aplcl_status aplcl_ctx_create(aplcl_ctx **out, const char *device);

/* aplcl_ctx_create_ex with the defaults and options.queue = queue (NULL: NULL_ARGUMENT). */
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
 * Empty shapes (rows == 0 or cols == 0; the same rule in every call of the library, host,
 * reference and head included): a batch with no elements. The call succeeds, reads nothing (the
 * logits, targets, weights and other per-element buffers may be NULL and are not checked), writes
 * the reduced loss 0 and all counters 0, and writes no gradient or per-element loss (there is
 * none). The loss is 0 for every reduction, MEAN included: aplcl's MEAN over no countable element
 * is 0, as for a batch whose targets are all ignored, so an empty shard of a sharded batch adds
 * nothing and poisons no sum (PyTorch's mean of an empty tensor is NaN: a binding that mirrors
 * PyTorch maps that case itself). Still checked: the parameters, dtype and target format, the
 * loss and counts buffers (context, size) and the wait list; the event completes as for any call.
 * Only the dense target formats (F32, U8) and float storage: aplcl_compute_io takes the others.
 * Errors (nothing is enqueued): NULL_ARGUMENT, SIZE_OVERFLOW, INVALID_PARAMS,
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
 * a program without any weight code.
 * One description serves every call: aplcl_io, aplcl_head_io (device buffers) and aplcl_host_io,
 * aplcl_ref_io (host arrays). */
typedef enum aplcl_weight_kind {
    APLCL_WEIGHT_ELEMENT = 0, /* N*C floats, one per element */
    APLCL_WEIGHT_LABEL = 1,   /* C floats, one per label (column) */
    APLCL_WEIGHT_ROW = 2      /* N floats, one per row (sample) */
} aplcl_weight_kind;

/* The weights of one call; all zero (the default): unweighted. The two arrays are cl_mem buffers
 * in the device calls (aplcl_io, aplcl_head_io) and host arrays (const float *) in the host and
 * reference calls (aplcl_host_io, aplcl_ref_io); offsets count floats from the start of either.
 * Device buffers are checked as the call's other buffers are (context, size, overlap with
 * outputs); host arrays must hold what the shape needs. An unknown kind with a weight given:
 * APLCL_ERR_INVALID_PARAMS. */
typedef struct aplcl_weights {
    const void *pos_weight;   /* NULL (all 1) or C floats: the positive side's factor per label */
    size_t pos_weight_offset; /* in floats */
    const void *weight;       /* NULL (all 1) or floats laid out as kind says */
    size_t weight_offset;     /* in floats; the head's chunks add their first row's offset */
    aplcl_weight_kind kind;   /* read only when weight is not NULL */
} aplcl_weights;

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
    cl_mem counts; /* NULL or APLCL_COUNT_LEN cl_ulong: the call's counters */
    size_t counts_offset;
    aplcl_weights weights; /* cl_mem buffers; all zero: unweighted */
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

/* ---- host-pointer entry points (blocking) ----
 *
 * aplcl_host_compute computes what aplcl_compute computes, on the caller's arrays (F32 logits,
 * F32 targets), and returns when every output is written. logits and targets hold rows*cols
 * values each; grad and elem_loss (rows*cols floats) and loss (the reduced loss, double) may each
 * be NULL; grad may equal logits (in place). Returns APLCL_ERR_INVALID_TARGET,
 * APLCL_ERR_NONFINITE_LOGIT or APLCL_ERR_INVALID_WEIGHT (in that order of precedence, after
 * writing the outputs, with those elements at 0) when the kernel found such values; the counters
 * (aplcl_host_compute_io) tell how many. Empty shapes: as aplcl_compute (SUCCESS, loss 0, counts
 * 0, nothing read or written; the arrays may then be NULL).
 *
 * Memory: on a device that shares the host's memory (CL_DEVICE_HOST_UNIFIED_MEMORY: CPU devices
 * such as PoCL, integrated GPUs) the arrays are used in place (CL_MEM_USE_HOST_PTR, outputs made
 * visible with a map and unmap): nothing is copied, and results are bit-identical to the copy
 * path. Arrays are copied instead when a pointer is not aligned to its element size or an output
 * overlaps another array other than the exact in-place gradient (the copy keeps copy semantics).
 * Arrays aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN (128 bytes on PoCL) are the safest bet for no
 * copy: a driver may copy a less aligned one internally. On other devices the inputs are copied
 * into device buffers the context keeps across calls (grown when a call needs more; one set per
 * call running at once, released by aplcl_ctx_destroy) and the outputs read back. Weights are
 * copied to the device for the call. */
APLCL_API aplcl_status aplcl_host_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                          size_t cols, const float *logits, const float *targets,
                                          float *grad, float *elem_loss, double *loss);

/* Every array of one host call, and its results. Zero-initialise it (`aplcl_host_io io = {0};`
 * is F32 logits, F32 targets, unweighted) and fill in what you use. */
typedef struct aplcl_host_io {
    aplcl_dtype dtype;                 /* storage of logits and grad (f16, bf16: 16-bit words) */
    const void *logits;                /* rows*cols values of dtype */
    aplcl_target_format target_format; /* F32 or U8 (else APLCL_ERR_INVALID_TARGET_FORMAT) */
    const void *targets;               /* rows*cols floats (F32) or uint8 (U8: 0, 1, 255) */
    aplcl_weights weights;             /* host arrays (const float *); all zero: unweighted */
    void *grad;                        /* NULL or rows*cols values of dtype; may equal logits */
    float *elem_loss;                  /* NULL or rows*cols floats */
    double loss;                       /* out: the reduced loss */
    uint64_t counts[APLCL_COUNT_LEN];  /* out: the call's counters */
} aplcl_host_io;

/* aplcl_host_compute for any storage type, dense target format and weights; io->loss and
 * io->counts receive the results (also with INVALID_TARGET, NONFINITE_LOGIT, INVALID_WEIGHT).
 * Besides aplcl_host_compute's errors: INVALID_PARAMS (an unknown dtype or weight kind),
 * INVALID_TARGET_FORMAT. */
APLCL_API aplcl_status aplcl_host_compute_io(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                             size_t cols, aplcl_host_io *io);

/* ---- CPU reference (double precision, no OpenCL needed) ----
 *
 * Same semantics as aplcl_host_compute, computed in double with the stable forms of the spec
 * (ln p as -softplus(-x)), summed with compensation: l = W (y P[c] l+ + (1 - y) l-) exactly as
 * "weights" defines it. The yardstick every device is checked against. Float logits, dense
 * targets, so no label window: the reference of a window is the same call on those columns.
 * Statuses as aplcl_host_compute (INVALID_TARGET, NONFINITE_LOGIT, INVALID_WEIGHT after writing
 * everything), empty shapes likewise. */
APLCL_API aplcl_status aplcl_ref_compute(const aplcl_params *p, size_t rows, size_t cols,
                                         const float *logits, const float *targets, double *grad,
                                         double *elem_loss, double *loss);

/* Every array of one reference call, and its results. Zero-initialise it (F32 targets,
 * unweighted) and fill in what you use. */
typedef struct aplcl_ref_io {
    const float *logits;               /* rows*cols floats */
    aplcl_target_format target_format; /* F32 or U8 (else APLCL_ERR_INVALID_TARGET_FORMAT) */
    const void *targets;               /* rows*cols floats (F32) or uint8 (U8: 0, 1, 255) */
    aplcl_weights weights;             /* host arrays (const float *); all zero: unweighted */
    double *grad;                      /* NULL or rows*cols doubles */
    double *elem_loss;                 /* NULL or rows*cols doubles */
    double loss;                       /* out: the reduced loss */
    uint64_t counts[APLCL_COUNT_LEN];  /* out: the call's counters */
} aplcl_ref_io;

/* aplcl_ref_compute for U8 targets, weights and counters. Besides aplcl_ref_compute's errors:
 * INVALID_PARAMS (an unknown weight kind), INVALID_TARGET_FORMAT. */
APLCL_API aplcl_status aplcl_ref_compute_io(const aplcl_params *p, size_t rows, size_t cols,
                                            aplcl_ref_io *io);

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

#ifdef __cplusplus
}
#endif
#endif /* APLCL_H */
