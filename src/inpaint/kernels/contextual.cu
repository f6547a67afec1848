// Weighted contextual loss per sample and its gradient, fused in one pass.
// numpy reference: inpaint.runtime.ops.cpu.CpuOps.contextual.
//
// x, y:    (B, C, H, W) float
// w:       (B, 1, H, W) float, broadcast over C
// g_extra: (B, C, H, W) float added to the gradient, or a null pointer for none
//          (the runtime passes the critic's gradient here, saving a separate add)
// loss:    (B,) float    l1: sum w |x - y|          l2: sum w (x - y)^2
// grad:    (B, C, H, W)  l1: w sign(x - y) (+ g_extra), sign(0) = 0
//                        l2: 2 w (x - y)   (+ g_extra)
//
// Launch: one block per sample, gridDim B, blockDim CONTEXTUAL_BLOCK (the host reads the same
// number). Each thread strides over the sample; the partial sums meet in a shared-memory tree.
// One block per sample keeps the summation order fixed, so the loss is deterministic, and the
// partial sums are double so the loss is no less accurate than numpy's pairwise float32 sum.

#define CONTEXTUAL_BLOCK 256  // a power of two: the tree halves it down to one

extern "C" __global__ void __launch_bounds__(CONTEXTUAL_BLOCK)
contextual(const float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ w,
           const float* __restrict__ g_extra, float* __restrict__ loss, float* __restrict__ grad,
           int channels, int plane, int l2)
{
    __shared__ double partial[CONTEXTUAL_BLOCK];
    const int n = channels * plane;
    const size_t base = (size_t)blockIdx.x * n;
    const float* wb = w + (size_t)blockIdx.x * plane;

    double sum = 0.0;
    for (int i = threadIdx.x; i < n; i += CONTEXTUAL_BLOCK) {
        const float d = x[base + i] - y[base + i];
        const float wi = wb[i % plane];
        float term, g;
        if (l2) {
            const float wd = wi * d;
            term = wd * d;
            g = 2.0f * wd;
        } else {
            term = wi * fabsf(d);
            // numpy's sign: 0 at 0, NaN stays NaN
            const float s = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : d);
            g = wi * s;
        }
        if (g_extra != nullptr) g += g_extra[base + i];
        grad[base + i] = g;
        sum += (double)term;
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = CONTEXTUAL_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) loss[blockIdx.x] = (float)partial[0];
}
