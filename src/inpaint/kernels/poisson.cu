// Poisson (guided-interpolation) blending, solved iteratively: red-black SOR sweeps.
// numpy reference (exact, sparse LU): inpaint.runtime.blend.poisson_blend.
//
// Batched over images and channels: source, target, f, guide are (B, C, H, W) float and
// known is (B, H, W) float, known > 0.5 = known pixel. For every hole pixel p,
//     n_p f_p - sum_{q in N(p)} f_q = sum_{q in N(p)} (s_p - s_q) =: guide_p
// with N(p) the in-image 4-neighbours of p (so the image border is a Neumann boundary),
// n_p = |N(p)|, and f_q = target_q held fixed on known pixels (Dirichlet).
//
// Kernels, in the order the host launches them (inpaint.runtime.ops.cuda_ops.CudaOps.blend):
//   poisson_clear     zero B unsigned ints (the max accumulators below).
//   poisson_init      f = target on known pixels, source in the hole; guide; and the image's
//                     scale, max(|target| on known pixels, |source|), which the host's
//                     tolerance is relative to. gridDim (blocks per image, min(B, 65535)).
//   poisson_omega     per image: the SOR factor, and the number of known pixels (0 = singular).
//                     gridDim B.
//   poisson_sweep     half a sweep: the hole pixels of one colour ((y + x) % 2). Their
//                     neighbours all have the other colour, so every thread updates in place.
//                     One thread per pixel of that colour, 1-D.
//   poisson_residual  max over the image of |(guide_p + sum_q f_q) / n_p - f_p|, the change a
//                     Jacobi step would make. gridDim (blocks per image, min(B, 65535)).
// gridDim.y is at most 65535, so the kernels laid out per image loop over the images
// blockIdx.y, blockIdx.y + gridDim.y, ... : every batch size runs.
// Maxima are kept as float bits in unsigned ints: for floats >= 0 the bit patterns order as the
// values, so atomicMax gives the max in any block order (deterministic), and a NaN, whose bits
// exceed those of +inf, wins and reaches the host. blockDim is POISSON_BLOCK throughout,
// except poisson_sweep and poisson_clear, which take any.

#define POISSON_BLOCK 256  // a power of two: the reductions halve it down to one

__device__ __forceinline__ bool is_known(float k) { return k > 0.5f; }

// The block's largest value into *out (one atomic per block); every thread must call it.
__device__ void block_max_into(unsigned int* out, unsigned int value)
{
    __shared__ unsigned int partial[POISSON_BLOCK];
    __syncthreads();  // the block's previous image may still be reading partial
    partial[threadIdx.x] = value;
    __syncthreads();
    for (int half = POISSON_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) partial[threadIdx.x] = max(partial[threadIdx.x], partial[threadIdx.x + half]);
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicMax(out, partial[0]);
}

extern "C" __global__ void poisson_clear(unsigned int* __restrict__ bits, int count)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) bits[i] = 0u;
}

extern "C" __global__ void __launch_bounds__(POISSON_BLOCK)
poisson_init(const float* __restrict__ source, const float* __restrict__ target,
             const float* __restrict__ known, float* __restrict__ f, float* __restrict__ guide,
             unsigned int* __restrict__ scale_bits, int batch, int channels, int height, int width)
{
    const int plane = height * width;
    const int n = channels * plane;
    for (int b = blockIdx.y; b < batch; b += gridDim.y) {
        const size_t offset = (size_t)b * n;
        const float* s = source + offset;
        const float* t = target + offset;
        const float* k = known + (size_t)b * plane;
        float* fb = f + offset;
        float* gb = guide + offset;

        unsigned int largest = 0u;
        for (int i = blockIdx.x * POISSON_BLOCK + threadIdx.x; i < n; i += gridDim.x * POISSON_BLOCK) {
            const int p = i % plane;
            const float sp = s[i];
            largest = max(largest, __float_as_uint(fabsf(sp)));
            if (is_known(k[p])) {
                fb[i] = t[i];
                gb[i] = 0.0f;
                largest = max(largest, __float_as_uint(fabsf(t[i])));
                continue;
            }
            const int y = p / width, x = p - y * width;
            float g = 0.0f;
            if (y > 0) g += sp - s[i - width];
            if (y < height - 1) g += sp - s[i + width];
            if (x > 0) g += sp - s[i - 1];
            if (x < width - 1) g += sp - s[i + 1];
            fb[i] = sp;
            gb[i] = g;
        }
        block_max_into(scale_bits + b, largest);
    }
}

// The longest run of hole pixels along one line (a row or a column), as the length of the
// Dirichlet path it behaves like: a run ending at the image border reflects there, so it counts
// double; a run spanning the whole line has no Dirichlet end at all and counts four times.
// Adds the line's known pixels to *known_pixels.
__device__ int longest_hole_run(const float* line, int length, int stride, int* known_pixels)
{
    int longest = 0, start = -1;
    for (int j = 0; j <= length; ++j) {
        const bool hole = j < length && !is_known(line[(size_t)j * stride]);
        *known_pixels += j < length && !hole;
        if (hole && start < 0) start = j;
        if (!hole && start >= 0) {
            const int ends_on_border = (start == 0) + (j == length);
            longest = max(longest, (j - start) << ends_on_border);
            start = -1;
        }
    }
    return longest;
}

// SOR factor per image from the longest hole runs a (along rows) and b (along columns). For a
// hole clear of the border the Jacobi iteration's spectral radius is at most
// mu = (cos(pi/(a+1)) + cos(pi/(b+1))) / 2, that of an a x b rectangle (its row and column
// couplings are paths of at most a and b pixels), and omega = 2 / (1 + sqrt(1 - mu^2)) is
// optimal for that rectangle; the border rule of longest_hole_run approximates the reflection.
// Where the true radius is smaller this omega is a little too large, which costs sweeps but
// never convergence: SOR converges for every omega in (0, 2) on this symmetric positive
// definite system. omega sets the speed only, not the solution.
extern "C" __global__ void __launch_bounds__(POISSON_BLOCK)
poisson_omega(const float* __restrict__ known, float* __restrict__ omega,
              int* __restrict__ known_count, int height, int width)
{
    __shared__ int run_x[POISSON_BLOCK], run_y[POISSON_BLOCK], count[POISSON_BLOCK];
    const float* k = known + (size_t)blockIdx.x * height * width;
    int rx = 0, ry = 0, c = 0, column_known = 0;  // the rows already count the known pixels
    for (int y = threadIdx.x; y < height; y += POISSON_BLOCK)
        rx = max(rx, longest_hole_run(k + (size_t)y * width, width, 1, &c));
    for (int x = threadIdx.x; x < width; x += POISSON_BLOCK)
        ry = max(ry, longest_hole_run(k + x, height, width, &column_known));
    run_x[threadIdx.x] = rx;
    run_y[threadIdx.x] = ry;
    count[threadIdx.x] = c;
    __syncthreads();
    for (int half = POISSON_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
            run_x[threadIdx.x] = max(run_x[threadIdx.x], run_x[threadIdx.x + half]);
            run_y[threadIdx.x] = max(run_y[threadIdx.x], run_y[threadIdx.x + half]);
            count[threadIdx.x] += count[threadIdx.x + half];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const double pi = 3.14159265358979323846;
        double w = 1.0;  // no hole: nothing to relax
        if (run_x[0] > 0) {
            const double mu = 0.5 * (cos(pi / (run_x[0] + 1)) + cos(pi / (run_y[0] + 1)));
            w = 2.0 / (1.0 + sqrt(fmax(1.0 - mu * mu, 0.0)));
            w = fmin(w, 1.999);  // mu rounds to 1 for runs of ~10^4 pixels; stay inside (0, 2)
        }
        omega[blockIdx.x] = (float)w;
        known_count[blockIdx.x] = count[0];
    }
}

// Gauss-Seidel's target at pixel p (at x, y) of one plane: the guide plus the sum of its in-plane
// 4-neighbours, over their count (the mean the relaxation moves f[p] towards, and what the
// residual compares f[p] with).
__device__ __forceinline__ float neighbour_target(const float* f, const float* guide, size_t p,
                                                  int x, int y, int width, int height)
{
    float sum = guide[p];
    int n = 0;
    if (y > 0) { sum += f[p - width]; ++n; }
    if (y < height - 1) { sum += f[p + width]; ++n; }
    if (x > 0) { sum += f[p - 1]; ++n; }
    if (x < width - 1) { sum += f[p + 1]; ++n; }
    return sum / (float)n;
}

extern "C" __global__ void poisson_sweep(float* __restrict__ f, const float* __restrict__ guide,
                                         const float* __restrict__ known,
                                         const float* __restrict__ omega,
                                         int batch, int channels, int height, int width, int colour)
{
    const int half_width = (width + 1) / 2;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * height * half_width) return;
    const int row = i / half_width;        // over (B, C, H)
    const int y = row % height;
    const int x = 2 * (i - row * half_width) + ((y + colour) & 1);
    if (x >= width) return;
    const int b = row / (height * channels);
    if (is_known(known[((size_t)b * height + y) * width + x])) return;

    const size_t p = (size_t)row * width + x;
    const float fp = f[p];
    f[p] = fp + omega[b] * (neighbour_target(f, guide, p, x, y, width, height) - fp);
}

extern "C" __global__ void __launch_bounds__(POISSON_BLOCK)
poisson_residual(const float* __restrict__ f, const float* __restrict__ guide,
                 const float* __restrict__ known, unsigned int* __restrict__ residual_bits,
                 int batch, int channels, int height, int width)
{
    const int plane = height * width;
    const int n = channels * plane;
    for (int b = blockIdx.y; b < batch; b += gridDim.y) {
        const size_t offset = (size_t)b * n;
        const float* fb = f + offset;
        const float* gb = guide + offset;
        const float* k = known + (size_t)b * plane;

        unsigned int worst = 0u;
        for (int i = blockIdx.x * POISSON_BLOCK + threadIdx.x; i < n; i += gridDim.x * POISSON_BLOCK) {
            const int p = i % plane;
            if (is_known(k[p])) continue;
            const int y = p / width, x = p - y * width;
            const float target = neighbour_target(fb, gb, (size_t)i, x, y, width, height);
            worst = max(worst, __float_as_uint(fabsf(target - fb[i])));
        }
        block_max_into(residual_bits + b, worst);
    }
}
