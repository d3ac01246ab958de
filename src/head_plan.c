/* head_plan.c: how many rows per chunk a scratch budget allows for the linear head.
 *
 * Sizes the chunk buffer and CLBlast's temporary buffer for a shape (asking CLBlast what its
 * GEMMs need), and finds the most rows that fit a budget; aplcl_head_plan and
 * aplcl_head_scratch_bytes expose it. Enqueues nothing. The head itself is head.c.
 */
#include "head_internal.h"

#include <limits.h>
#include <string.h>

aplcl_status head_check_dims(size_t n, size_t d, size_t c) {
    if (n == 0 || d == 0 || c == 0)
        return APLCL_ERR_INVALID_SIZE;
    aplcl_status st = apl_check_shape(n, d, sizeof(cl_float));
    if (st == APLCL_SUCCESS)
        st = apl_check_shape(c, d, sizeof(cl_float));
    if (st == APLCL_SUCCESS)
        st = apl_check_shape(n, c, sizeof(cl_float));
    if (st != APLCL_SUCCESS)
        return st;
    /* CLBlast passes sizes and offsets to its kernels as int */
    if (n > INT_MAX || d > INT_MAX || c > INT_MAX || c * d > INT_MAX)
        return APLCL_ERR_SIZE_OVERFLOW;
    return APLCL_SUCCESS;
}

head_offsets head_offsets_of(const aplcl_head_io *io) {
    head_offsets o = {io && io->w_offset != 0, io && io->dw_offset != 0};
    return o;
}

/* The three GEMMs in column-major form, where the row-major R x C chunk is a C x R matrix that
 * CLBlast's kernel can use in place (row-major calls made CLBlast copy the whole chunk):
 *   forward  L^T  (C x R) = W (C x D) X^T (D x R)        A = W stored D x C, transposed
 *   dX       dX^T (D x R) = W^T (D x C) G^T (C x R)
 *   dW       dW^T (D x C) += X^T (D x R) G (R x C)       B = G^T stored C x R, transposed
 * CLBlast's kernel wants its B operand transposed, so in the dX product it copies G: that product
 * runs over blocks of head_dx_block() rows, which keeps the copy near the size of its copy of W
 * (the forward product's) instead of a second chunk. CLBlast's temporary buffer for an R-row chunk
 * is the largest of these, in bytes. X, dX and G blocks sit at a different offset in every chunk or
 * block, and an offset forces CLBlast's padded copy, so they are sized as moved; W and dW as the
 * call has them. */
size_t head_dx_block(size_t rows, size_t d) {
    size_t b = d / HEAD_ROW_GRANULE * HEAD_ROW_GRANULE;
    if (b < HEAD_ROW_GRANULE)
        b = HEAD_ROW_GRANULE;
    return rows < b ? rows : b;
}

static aplcl_status blas_temp(aplcl_head *h, size_t r, size_t d, size_t c, head_offsets o,
                              size_t *out) {
    cl_command_queue q = h->ctx->queue;
    const CLBlastLayout CM = CLBlastLayoutColMajor;
    const CLBlastTranspose N = CLBlastTransposeNo, T = CLBlastTransposeYes;
    size_t t[4] = {0, 0, 0, 0}, w_off = o.w_moved, dw_off = o.dw_moved;
    size_t blk = head_dx_block(r, d), rest = r % blk;
    CLBlastStatusCode s;
    s = CLBlastSGemmTempBufferSize(CM, T, N, c, r, d, w_off, d, 1, d, 0, c, &q, &t[0]);
    if (s == CLBlastSuccess)
        s = CLBlastSGemmTempBufferSize(CM, N, T, d, c, r, 1, d, 0, c, dw_off, d, &q, &t[1]);
    if (s == CLBlastSuccess)
        s = CLBlastSGemmTempBufferSize(CM, N, N, d, blk, c, w_off, d, 1, c, 1, d, &q, &t[2]);
    if (s == CLBlastSuccess && rest)
        s = CLBlastSGemmTempBufferSize(CM, N, N, d, rest, c, w_off, d, 1, c, 1, d, &q, &t[3]);
    if (s != CLBlastSuccess)
        return head_blas_fail(s);
    size_t m = 0;
    for (int i = 0; i < 4; ++i)
        m = t[i] > m ? t[i] : m;
    *out = m;
    return APLCL_SUCCESS;
}

/* Scratch for chunks of r rows (the last one possibly shorter); SIZE_MAX when some piece cannot
 * be allocated on this device or indexed by CLBlast. */
static aplcl_status need_for_rows(aplcl_head *h, size_t n, size_t d, size_t c, head_offsets o,
                                  size_t r, size_t *need, size_t *temp) {
    *need = SIZE_MAX;
    *temp = 0;
    if (r > (size_t)INT_MAX / c)
        return APLCL_SUCCESS;
    size_t chunk = r * c * sizeof(cl_float);
    size_t last = n - (n - 1) / r * r;
    size_t t1 = 0, t2 = 0;
    aplcl_status st = blas_temp(h, r, d, c, o, &t1);
    if (st == APLCL_SUCCESS && last != r)
        st = blas_temp(h, last, d, c, o, &t2);
    if (st != APLCL_SUCCESS)
        return st;
    size_t t = t1 > t2 ? t1 : t2;
    *temp = t;
    if (chunk > h->max_alloc || t > h->max_alloc)
        return APLCL_SUCCESS;
    if (t > SIZE_MAX - chunk - APLCL_HEAD_FIXED_SCRATCH)
        return APLCL_SUCCESS;
    *need = chunk + t + APLCL_HEAD_FIXED_SCRATCH;
    return APLCL_SUCCESS;
}

aplcl_status aplcl_head_scratch_bytes(aplcl_head *h, size_t n, size_t d, size_t c,
                                      const aplcl_head_io *io, size_t chunk_rows,
                                      size_t *scratch_bytes) {
    if (!h || !scratch_bytes)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = head_check_dims(n, d, c);
    if (st != APLCL_SUCCESS)
        return st;
    if (chunk_rows == 0 || chunk_rows > n)
        return APLCL_ERR_INVALID_SIZE;
    size_t need, temp;
    apl_lock(h->ctx); /* CLBlast's size queries share its caches with the context's other calls */
    st = need_for_rows(h, n, d, c, head_offsets_of(io), chunk_rows, &need, &temp);
    apl_unlock(h->ctx);
    if (st != APLCL_SUCCESS)
        return st;
    if (need == SIZE_MAX)
        return APLCL_ERR_SIZE_OVERFLOW;
    *scratch_bytes = need;
    return APLCL_SUCCESS;
}

/* The most rows whose scratch fits: all of them if they fit, else bisection (the need grows with
 * the rows but for CLBlast's padding), then tile multiples above it. The result always fits. */
aplcl_status head_make_plan(aplcl_head *h, size_t n, size_t d, size_t c, head_offsets o,
                            size_t budget, head_plan *out) {
    head_plan *pl = &h->plan;
    if (pl->valid && pl->n == n && pl->d == d && pl->c == c && pl->budget == budget &&
        pl->w_moved == o.w_moved && pl->dw_moved == o.dw_moved) {
        *out = *pl;
        return APLCL_SUCCESS;
    }
    /* A budget past what the device holds means "as much as it can": need_for_rows already keeps
     * each buffer within CL_DEVICE_MAX_MEM_ALLOC_SIZE (SIZE_MAX, its "cannot", then never fits),
     * and all of them together must fit global memory. */
    size_t fit = budget;
    cl_ulong global = 0;
    if (clGetDeviceInfo(h->ctx->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL) ==
            CL_SUCCESS &&
        global < fit)
        fit = (size_t)global;
    if (fit == SIZE_MAX)
        fit = SIZE_MAX - 1;
    size_t need, temp;
    aplcl_status st = need_for_rows(h, n, d, c, o, n, &need, &temp);
    if (st != APLCL_SUCCESS)
        return st;
    size_t rows = n;
    if (need > fit) {
        size_t lo_need, lo_temp;
        if ((st = need_for_rows(h, n, d, c, o, 1, &lo_need, &lo_temp)) != APLCL_SUCCESS)
            return st;
        if (lo_need > fit) {
            out->rows = 0;
            out->need = lo_need;
            out->temp = lo_temp;
            return APLCL_ERR_SCRATCH_BUDGET;
        }
        size_t lo = 1, hi = n; /* lo fits, hi does not */
        need = lo_need, temp = lo_temp;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2, m_need, m_temp;
            if ((st = need_for_rows(h, n, d, c, o, mid, &m_need, &m_temp)) != APLCL_SUCCESS)
                return st;
            if (m_need <= fit)
                lo = mid, need = m_need, temp = m_temp;
            else
                hi = mid;
        }
        rows = lo;
        /* the chunk alone bounds the rows: fit >= r * C * 4 + fixed */
        size_t cap = (fit - APLCL_HEAD_FIXED_SCRATCH) / (c * sizeof(cl_float));
        for (size_t r = (rows / HEAD_ROW_GRANULE + 1) * HEAD_ROW_GRANULE; r < n && r <= cap;
             r += HEAD_ROW_GRANULE) {
            size_t r_need, r_temp;
            if ((st = need_for_rows(h, n, d, c, o, r, &r_need, &r_temp)) != APLCL_SUCCESS)
                return st;
            if (r_need <= fit)
                rows = r, need = r_need, temp = r_temp;
        }
    }
    pl->n = n, pl->d = d, pl->c = c, pl->budget = budget;
    pl->w_moved = o.w_moved, pl->dw_moved = o.dw_moved;
    pl->rows = rows, pl->need = need, pl->temp = temp;
    pl->valid = true;
    *out = *pl;
    return APLCL_SUCCESS;
}

aplcl_status aplcl_head_plan(aplcl_head *h, size_t n, size_t d, size_t c, const aplcl_head_io *io,
                             size_t budget, size_t *chunk_rows, size_t *scratch_bytes) {
    if (!h)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = head_check_dims(n, d, c);
    if (st != APLCL_SUCCESS)
        return st;
    head_plan pl;
    memset(&pl, 0, sizeof pl);
    apl_lock(h->ctx); /* the plan cached in the head is shared with aplcl_head_compute */
    st = head_make_plan(h, n, d, c, head_offsets_of(io), budget, &pl);
    apl_unlock(h->ctx);
    if (st != APLCL_SUCCESS && st != APLCL_ERR_SCRATCH_BUDGET)
        return st;
    if (chunk_rows)
        *chunk_rows = pl.rows;
    if (scratch_bytes)
        *scratch_bytes = pl.need;
    return st;
}
