// Yeh et al.'s importance weights. numpy reference: inpaint.masks.importance_weights.
//
// known:   (B, H, W) float, 1 = known pixel, 0 = hole
// weights: (B, 1, H, W) float
// weights_i = (sum of (1 - known_j) over the window x window box around i) / window^2 * known_i,
// pixels outside the image counting as known (they add nothing; the divisor stays window^2).
// A NaN in known makes every weight whose window holds it NaN, as in the reference.
//
// Launch: one thread per pixel, 1-D, blockDim 256, gridDim ceil(B*H*W / 256).
// The box is summed directly (window^2 loads, 49 at window 7): at 64x64 a separable or
// summed-area version would save nothing measurable against the launch itself.

extern "C" __global__ void importance_weights(const float* __restrict__ known,
                                              float* __restrict__ weights,
                                              int batch, int height, int width, int window)
{
    const int plane = height * width;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * plane) return;
    const int b = i / plane;
    const int y = (i - b * plane) / width;
    const int x = i - b * plane - y * width;
    const int r = window / 2;
    const float* k = known + (size_t)b * plane;

    // double, as the reference: exact counts for 0/1 masks, the same rounding for soft ones
    double hole = 0.0;
    for (int yy = max(y - r, 0); yy <= min(y + r, height - 1); ++yy)
        for (int xx = max(x - r, 0); xx <= min(x + r, width - 1); ++xx)
            hole += 1.0 - (double)k[yy * width + xx];
    const double w = hole / (double)(window * window) * (double)k[y * width + x];
    weights[i] = (float)(w < 0.0 ? 0.0 : w);   // not fmax: a NaN stays NaN, as in np.clip
}
