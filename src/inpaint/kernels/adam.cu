// One Adam step on the search variables (z, or v = [z, u] of search z+bn), then z clipped to [-1, 1].
// numpy reference: inpaint.runtime.ops.cpu.CpuOps.adam.
//
// z, grad, m, v: n floats (B * width, any width); z, m, v updated in place
// steps_taken:   one int on the device, the steps already taken; this step is t = steps_taken + 1
// stopped:       one int on the device, or a null pointer: while it is non-zero both kernels leave
//                everything as it is (the search's early stop, decided on the device, so that a
//                captured iteration replayed past the stop takes no step and counts none)
//
// The step counter lives on the device and no argument changes from step to step, so the pair
// of launches (adam_step, then adam_count_step) can be captured once in a CUDA graph and
// replayed. The counter is advanced by its own single-thread launch, stream-ordered after
// adam_step: inside adam_step no block may change it while another block may still read it.
//
// A NaN gradient (or z) gives a NaN z, as the reference's np.clip keeps it: fminf/fmaxf alone
// would return the bound and hide the NaN from the search's loss and its caller.
//
// Launch: adam_step one thread per element, blockDim 256, gridDim ceil(n / 256);
//         adam_count_step one block of one thread.
//
// The float operations use the _rn intrinsics in numpy's order, which keeps the compiler from
// fusing them into FMAs: the result then rounds as numpy's float32 arithmetic does. beta1 and
// beta2 come as doubles because the reference forms 1 - beta^t in double precision (Python
// floats); for beta2 = 0.999 rounding beta2 to float first would shift 1 - beta2 by 1e-5.

extern "C" __global__ void adam_step(float* __restrict__ z, const float* __restrict__ grad,
                                     float* __restrict__ m, float* __restrict__ v,
                                     const int* __restrict__ steps_taken,
                                     const int* __restrict__ stopped, int n,
                                     float lr, double beta1, double beta2, float eps)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n || (stopped != nullptr && *stopped != 0)) return;
    const double t = (double)(*steps_taken + 1);
    const float correction1 = (float)(1.0 - pow(beta1, t));
    const float correction2 = (float)(1.0 - pow(beta2, t));

    const float g = grad[i];
    const float mi = __fadd_rn(__fmul_rn(m[i], (float)beta1), __fmul_rn((float)(1.0 - beta1), g));
    const float vi = __fadd_rn(__fmul_rn(v[i], (float)beta2),
                               __fmul_rn(__fmul_rn((float)(1.0 - beta2), g), g));
    m[i] = mi;
    v[i] = vi;
    const float m_hat = __fdiv_rn(mi, correction1);
    const float v_hat = __fdiv_rn(vi, correction2);
    const float step = __fdiv_rn(__fmul_rn(lr, m_hat), __fadd_rn(__fsqrt_rn(v_hat), eps));
    const float zi = __fsub_rn(z[i], step);
    z[i] = isnan(zi) ? zi : fminf(fmaxf(zi, -1.0f), 1.0f);   // NaN stays NaN, as in np.clip
}

extern "C" __global__ void adam_count_step(int* steps_taken, const int* stopped)
{
    if (blockIdx.x == 0 && threadIdx.x == 0 && (stopped == nullptr || *stopped == 0)) *steps_taken += 1;
}
