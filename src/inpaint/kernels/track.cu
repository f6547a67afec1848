// The search's bookkeeping between the losses and the Adam step: the total loss, the best
// iterate per row, the loss history and the early stop. numpy reference: the loop body of
// inpaint.runtime.optimise.optimise; tests/runtime/test_device_search.py checks the two agree.
//
// contextual, prior, consistency: (B,) float, the losses of the current iterate
// z:        (B, width) float, that iterate: the search variable, z (width z_dim) or v = [z, u]
//           of search z+bn (width z_dim + 2C)
// steps:    one int, the Adam steps taken so far; tracking runs before this iteration's Adam
//           step, so it is the 0-based iteration t (the counter CudaOps.adam advances)
// best:     (4, B) float, per row: total, contextual, prior and consistency loss of the best
//           iterate so far
// best_z:   (B, width) float, that iterate
// history:  (iterations,) float, the mean total loss of every iteration
// status:   two ints, zero at the start: [0] becomes 1 once the search is over (early stop or
//           the iteration limit), [1] then holds the iterations it ran
//
// total_b = contextual_b + lambda prior_b + mu consistency_b, rounded as numpy's float32 does
// (the _rn intrinsics keep the compiler from fusing an FMA). Row b takes the iterate where
// total_b < its best total, NaN never winning; at t = 0 every row takes it, as optimise copies
// the first iterate. history[t] is the mean over rows, summed in double in a fixed order, so
// replays give the same bits. With it = t + 1, the search stops when it > patience and
// history[t - patience] - history[t] < rel_tol |history[t - patience]| (compared in double, as
// Python compares the float32 means), or when it == iterations.
//
// Once status[0] is set, nothing changes: the host reads the flag only every few iterations,
// so a captured iteration may be replayed past the stop. Adam reads the same flag and takes no
// step after it, so, as in optimise, the iteration that stops takes no Adam step: the counter
// ends at the iterations run minus one.
//
// Launch: one block of TRACK_BLOCK threads. A warp per row: lane 0 decides, the warp copies.

#define TRACK_BLOCK 256  // a multiple of 32: whole warps
#define WARPS (TRACK_BLOCK / 32)

extern "C" __global__ void __launch_bounds__(TRACK_BLOCK)
track(const float* __restrict__ contextual, const float* __restrict__ prior,
      const float* __restrict__ consistency, const float* __restrict__ z, const int* steps,
      float* __restrict__ best, float* __restrict__ best_z, float* __restrict__ history,
      int* status, int batch, int width, int iterations, int patience,
      float prior_weight, float consistency_weight, double rel_tol)
{
    __shared__ double partial[WARPS];
    // Every thread reads status[0] before the barrier below; only thread 0 writes it, after.
    if (status[0] != 0) return;
    const int t = *steps;
    if (t < 0 || t >= iterations) return;  // not reachable from CudaOps.track's contract

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    double sum = 0.0;  // lane 0: the totals of this warp's rows, in row order
    for (int b = warp; b < batch; b += WARPS) {
        float total = 0.0f;
        int better = 0;
        if (lane == 0) {
            total = __fadd_rn(__fadd_rn(contextual[b], __fmul_rn(prior_weight, prior[b])),
                              __fmul_rn(consistency_weight, consistency[b]));
            better = t == 0 || total < best[b];
            sum += (double)total;
        }
        // lane 0 read best[b] above and writes it below: no other lane touches it
        better = __shfl_sync(0xffffffffu, better, 0);
        if (better) {
            const size_t row = (size_t)b * width;
            for (int k = lane; k < width; k += 32) best_z[row + k] = z[row + k];
            if (lane == 0) {
                best[b] = total;
                best[batch + b] = contextual[b];
                best[2 * batch + b] = prior[b];
                best[3 * batch + b] = consistency[b];
            }
        }
    }
    if (lane == 0) partial[warp] = sum;
    __syncthreads();
    if (threadIdx.x != 0) return;

    double all = 0.0;
    for (int w = 0; w < WARPS; ++w) all += partial[w];
    const float mean = (float)(all / (double)batch);
    history[t] = mean;
    const int it = t + 1;
    bool stop = it >= iterations;
    if (it > patience) {
        const double before = (double)history[t - patience];
        stop = stop || before - (double)mean < rel_tol * fabs(before);
    }
    if (stop) {
        status[1] = it;
        status[0] = 1;
    }
}
