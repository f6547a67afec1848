"""Poisson (guided-interpolation) blending of a completion into the hole, Perez et al. 2003 (numpy reference)."""
from __future__ import annotations

import numpy as np

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # 4-neighbour stencil (dy, dx)


def poisson_blend(source: np.ndarray, target: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the hole of `target` with the gradients of `source`, the known target pixels held fixed.

    source, target: float (H, W, C) or (H, W); known: bool (H, W), True = known pixel.
    Returns float64 of target's shape: exactly `target` on known pixels; in the hole, the solution f of
        sum_{q in N(p)} (f_p - f_q) = sum_{q in N(p)} (s_p - s_q)   for every hole pixel p,
    with f_q = target_q for known q (Dirichlet). N(p) holds only the in-image 4-neighbours of p,
    so the image border is a Neumann boundary. One sparse LU factorization serves every channel.
    Raises ValueError when no pixel is known (the system would be singular); otherwise every hole
    component of the 4-connected grid touches a known pixel and the system is nonsingular.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    known = np.asarray(known)
    if source.shape != target.shape or source.ndim not in (2, 3):
        raise ValueError(f"source and target must share one (H, W) or (H, W, C) shape, "
                         f"got {source.shape} and {target.shape}")
    if known.dtype != np.bool_ or known.shape != target.shape[:2]:
        raise ValueError(f"known must be a bool array of shape {target.shape[:2]}, "
                         f"got {known.dtype} {known.shape}")
    if not known.any():
        raise ValueError("poisson_blend needs at least one known pixel: the mask marks the whole image as hole")
    squeeze = target.ndim == 2
    src = source.reshape(*source.shape[:2], -1)  # (H, W, C)
    tgt = target.reshape(*target.shape[:2], -1)  # (H, W, C)
    out = tgt.copy()
    if known.all():
        return out[..., 0] if squeeze else out

    h, w = known.shape
    ys, xs = np.nonzero(~known)  # (n,) each: the unknowns, in row-major order
    n = ys.size
    index = np.full((h, w), -1, np.int64)
    index[ys, xs] = np.arange(n)

    degree = np.zeros(n)  # (n,) number of in-image neighbours
    rhs = np.zeros((n, tgt.shape[2]))  # (n, C)
    rows, cols = [], []  # off-diagonal -1 entries between neighbouring unknowns
    for dy, dx in _NEIGHBOURS:
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        p, qy, qx = np.nonzero(inside)[0], qy[inside], qx[inside]
        degree[p] += 1.0
        rhs[p] += src[ys[p], xs[p]] - src[qy, qx]  # guidance: the source's gradient along this edge
        q_known = known[qy, qx]
        rhs[p[q_known]] += tgt[qy[q_known], qx[q_known]]  # Dirichlet boundary moves to the right side
        rows.append(p[~q_known])
        cols.append(index[qy[~q_known], qx[~q_known]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    from scipy import sparse                      # here: importing it costs more than most blends
    from scipy.sparse.linalg import factorized
    A = sparse.coo_matrix(
        (np.concatenate([degree, -np.ones(rows.size)]),
         (np.concatenate([np.arange(n), rows]), np.concatenate([np.arange(n), cols]))),
        shape=(n, n),
    ).tocsc()  # (n, n) graph Laplacian of the hole, plus the boundary terms on its diagonal
    solve = factorized(A)
    for c in range(tgt.shape[2]):
        out[ys, xs, c] = solve(np.ascontiguousarray(rhs[:, c]))
    return out[..., 0] if squeeze else out
