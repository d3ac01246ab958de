/* net.cl: the element-wise kernels of `aplcl train`'s network (train/train_net.c).
 *
 * Gather of a mini-batch, bias + ReLU, ReLU backward, deterministic column sums and Adam. They are
 * the training engine's own, not part of the loss library; embedded into libaplcl_train at build
 * time (cmake/embed_kernels.cmake) like the loss kernels are into libaplcl.
 */
__kernel void gather_f32(__global const float *src, __global const uint *idx,
                         __global float *dst, uint cols) {
    size_t i = get_global_id(0), r = i / cols, c = i % cols;
    dst[i] = src[(size_t)idx[r] * cols + c];
}
__kernel void gather_u8(__global const uchar *src, __global const uint *idx,
                        __global uchar *dst, uint cols) {
    size_t i = get_global_id(0), r = i / cols, c = i % cols;
    dst[i] = src[(size_t)idx[r] * cols + c];
}
__kernel void bias_act(__global float *z, __global const float *theta, ulong b_off,
                       uint cols, int relu) {
    size_t i = get_global_id(0);
    float v = z[i] + theta[b_off + i % cols];
    z[i] = relu ? fmax(v, 0.0f) : v;
}
__kernel void relu_back(__global float *d, __global const float *a) {
    size_t i = get_global_id(0);
    if (!(a[i] > 0.0f)) d[i] = 0.0f;
}
/* one work-item per column, rows in order: deterministic */
__kernel void colsum(__global const float *g, uint rows, uint cols, __global float *out,
                     ulong out_off) {
    size_t c = get_global_id(0);
    float s = 0.0f;
    for (uint r = 0; r < rows; ++r) s += g[(size_t)r * cols + c];
    out[out_off + c] = s;
}
__kernel void adam(__global float *theta, __global const float *g, __global float *m,
                   __global float *v, float lr_t, float b1, float b2, float eps, float wd) {
    size_t i = get_global_id(0);
    float gi = g[i] + wd * theta[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi, vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    theta[i] -= lr_t * mi / (sqrt(vi) + eps);
}
