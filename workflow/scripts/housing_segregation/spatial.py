"""Spatial segregation indices: kernel "egohoods" on sparse neighbourhoods, and PySAL's
distance-decay indices, batched over leading axes (Monte Carlo draws).

Counts follow :mod:`housing_segregation.indices`: shape ``(..., n_units)`` (multigroup:
``(..., n_units, n_groups)``), leading axes broadcast, the result has shape ``(...)`` and is a
float for one set of counts; undefined draws of a batch are NaN, a single undefined set of
counts raises ``ValueError``. Units are located by ``points``, an ``(n_units, 2)`` array of
projected coordinates in metres: the polygon centroids, which is what PySAL uses
(``libpysal.weights.util.get_points_array`` and ``segregation.util.generate_distance_matrix``
both take ``geometry.centroid``).

**Egohoods** (Reardon & O'Sullivan 2004). Each unit's counts are replaced by the kernel-weighted
sums of the counts of every unit whose centroid lies within ``distance``, and an aspatial
index is computed on those sums. This is what PySAL ``segregation`` 2.5.4 does when an index
is given ``distance=`` (``SpatialImplicitIndex`` → ``_build_local_environment``), reproduced
here exactly:

- the weights are ``libpysal.weights.Kernel(centroids, bandwidth=distance, fixed=True,
  function=function)``: z = d_ij / distance for every pair with d_ij ≤ distance (a closed
  ball, ``cKDTree.query_ball_point``), and K(z) from Anselin & Rey (2014): triangular 1 − z
  (PySAL's default), uniform ½, quadratic ¾(1 − z²), quartic 15/16 (1 − z²)², gaussian
  (2π)^−½ exp(−z²/2) (truncated at the bandwidth, not normalised to the ball);
- ``libpysal.weights.util.fill_diagonal`` then sets every unit's own weight to 1, whatever
  the kernel (so a uniform egohood weighs its own unit 1 and its neighbours ½);
- the egohood sums are ``lag_spatial``, W @ counts, without row standardisation;
- PySAL **rounds the egohood sums to whole persons** (``DataFrame.round(0)``, half to even)
  before the index. ``rounded=True`` (the default) reproduces that; ``rounded=False`` keeps
  the fractional sums (a change of under half a person per unit, but smooth in the counts,
  which Monte Carlo draws may prefer);
- an empty unit gets the sums of its neighbours like any other, so it can weigh in the index
  (PySAL does the same); a unit whose egohood is empty has weight 0, never 0/0.

PySAL rebuilds the weights and a GeoDataFrame for every index call, one set of counts at a
time; here the neighbourhoods come from ``cKDTree.sparse_distance_matrix``, W is a
``csr_matrix`` with a few dozen entries per row, built once per area and radius, and one
sparse product smooths every Monte Carlo draw at once. ``multiscalar_profile`` equals
``segregation.dynamics.compute_multiscalar_profile``, which builds its kernel with
``libpysal.graph.Graph.build_kernel`` instead: for the triangular kernel both give the same
weights.

**Distance decay** (Morgan 1983; White 1983). PySAL's ``DistanceDecayIsolation``,
``DistanceDecayInteraction`` and ``SpatialProximity`` do not use the kernel. They use a dense
proximity matrix, reproduced exactly by :class:`DecayProximity` (see there): it is
c_ij = 1 − exp(−d_ij / s_j), with s_j the sum of unit j's distances to all units. That is not
the textbook exp(−d_ij). It does not fall to 0 with distance, so the matrix cannot be cut off
at any distance, and it is built block by block (under ~100 MB at any n).

Every function equals PySAL 2.5.4 to 1e-9 on the same data (tests/test_spatial.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from numbers import Real

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from housing_segregation import indices
from housing_segregation.indices import _NO_MEMBERS, Array, Index, _finish, _ratio

__all__ = [
    "KERNEL_FUNCTIONS",
    "DecayProximity",
    "decay_proximity",
    "distance_decay_interaction",
    "distance_decay_isolation",
    "egohood_dissimilarity",
    "egohood_entropy",
    "egohood_indices",
    "egohood_multigroup_dissimilarity",
    "egohood_multigroup_entropy",
    "kernel_weights",
    "multiscalar_profile",
    "packed_weights",
    "smooth",
    "spatial_proximity",
]


#: Kernel functions of ``libpysal.weights.Kernel``, K(z) for z = d / bandwidth in [0, 1].
KERNEL_FUNCTIONS = ("triangular", "uniform", "quadratic", "quartic", "gaussian")

#: Egohood indices of :func:`multiscalar_profile`: (aspatial index, egohood index).
_PROFILE_INDICES = ("dissimilarity", "entropy")

#: Bytes of one block of the dense distance-decay matrix (a few such arrays are alive at once).
_BLOCK_BYTES = 16 * 2**20
#: Up to this size (n ≤ 2,896 units) the whole distance-decay matrix is built once and kept.
_DENSE_BYTES = 64 * 2**20

_NOBODY_ELSE = "nobody outside the group in any unit (total equals group)"


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _points(points: ArrayLike) -> Array:
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"points: not an array of coordinates ({error})") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points: expected an array of shape (n_units, 2), got {array.shape}")
    if array.shape[0] == 0:
        raise ValueError("points: no units")
    if not np.isfinite(array).all():
        raise ValueError("points: contains missing or infinite coordinates")
    return array


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name}: must not be negative, got {value!r}")
    return float(value)


def _function(function: object) -> str:
    if function not in KERNEL_FUNCTIONS:
        raise ValueError(f"function: expected one of {KERNEL_FUNCTIONS}, got {function!r}")
    return str(function)


def _counts(values: ArrayLike, name: str, *, min_ndim: int = 1) -> Array:
    """:func:`indices._counts` (double precision, or single if given so)."""
    shape = "(..., n_units)" if min_ndim == 1 else "(..., n_units, n_groups)"
    return indices._counts(
        values, name, min_ndim=min_ndim, expected=f"expected an array of shape {shape}"
    )


def _group_and_total(group: ArrayLike, total: ArrayLike, n_units: int) -> tuple[Array, Array]:
    """Checked group counts and unit totals of shape (..., n_units), broadcast to one shape."""
    g, t = _counts(group, "group"), _counts(total, "total")
    for name, array in (("group", g), ("total", t)):
        if array.shape[-1] != n_units:
            raise ValueError(
                f"{name}: {array.shape[-1]} units, but the weights are for {n_units} units"
            )
    try:
        g, t = np.broadcast_arrays(g, t)
    except ValueError:
        raise ValueError(
            f"group and total: leading (batch) axes do not broadcast: {g.shape}, {t.shape}"
        ) from None
    if (g > t * (1 + 1e-9) + 1e-9).any():
        raise ValueError("group: exceeds total in some unit")
    return g, t


def _weights(weights: object) -> scipy.sparse.csr_matrix | Array:
    """A square, finite, non-negative weights matrix (sparse stays sparse), in double
    precision, or in single if given so (for counts in single precision)."""
    dtype = np.float32 if getattr(weights, "dtype", None) == np.float32 else np.float64
    if scipy.sparse.issparse(weights):
        matrix = scipy.sparse.csr_matrix(weights, dtype=dtype)
        values = matrix.data
    else:
        try:
            matrix = np.asarray(weights, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(f"weights: not a matrix ({error})") from None
        values = matrix
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"weights: expected an (n_units, n_units) matrix, got {matrix.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("weights: entries must be finite and non-negative")
    return matrix


# --------------------------------------------------------------------------------------------
# Kernel weights and egohood sums
# --------------------------------------------------------------------------------------------


def _kernel(z: Array, function: str) -> Array:
    """K(z) exactly as ``libpysal.weights.Kernel._eval_kernel`` writes it."""
    if function == "triangular":
        return 1 - z
    if function == "uniform":
        return np.ones(z.shape) * 0.5
    if function == "quadratic":
        return (3.0 / 4) * (1 - z**2)
    if function == "quartic":
        return (15.0 / 16) * (1 - z**2) ** 2
    return (np.pi * 2) ** (-0.5) * np.exp(-(z**2) / 2.0)  # gaussian


def kernel_weights(
    points: ArrayLike, distance: float, function: str = "triangular"
) -> scipy.sparse.csr_matrix:
    """Egohood weights W, (n_units, n_units): w_ij = K(d_ij / distance) for d_ij ≤ distance,
    and w_ii = 1, as PySAL weighs units when an index is given ``distance=``.

    ``points``: unit centroids, (n_units, 2), projected metres; ``distance``: the kernel
    bandwidth in the same units (PySAL's ``distance`` → ``Kernel(bandwidth=distance,
    fixed=True)``); ``function``: one of :data:`KERNEL_FUNCTIONS`, triangular by default as in
    PySAL. Pairs at exactly ``distance`` are in the ball (weight 0 for triangular, quadratic
    and quartic, so not stored). Coincident centroids weigh K(0) on each other. Distance 0
    gives the identity (no smoothing: PySAL's aspatial index).

    Sparse: a unit has as many entries as it has centroids within ``distance``.
    """
    xy = _points(points)
    bandwidth = _non_negative(distance, "distance")
    kind = _function(function)
    n = xy.shape[0]
    if bandwidth == 0:
        return scipy.sparse.identity(n, dtype=np.float64, format="csr")
    tree = cKDTree(xy)
    # Every pair with d_ij ≤ distance, the unit itself (d_ii = 0) included.
    pairs = tree.sparse_distance_matrix(tree, bandwidth, output_type="ndarray")
    row, col = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    value = _kernel(pairs["v"] / bandwidth, kind)
    value[row == col] = 1.0  # fill_diagonal: every unit weighs itself 1
    weights = scipy.sparse.csr_matrix((value, (row, col)), shape=(n, n))
    weights.eliminate_zeros()
    weights.sort_indices()
    return weights


def _smooth(counts: Array, weights: scipy.sparse.csr_matrix | Array, axis: int) -> Array:
    """W @ counts along ``axis`` in one product: units first, every other axis flattened.
    The weights take the counts' precision: single-precision counts (Monte Carlo draws) are
    smoothed in single precision, any others in double."""
    if weights.dtype != counts.dtype:
        weights = weights.astype(counts.dtype)
    if scipy.sparse.issparse(weights) and axis in (-1, counts.ndim - 1):
        # Units last: the rows of counts times Wᵀ. scipy takes it as (W @ countsᵀ)ᵀ, the same
        # sums in the same order, at about half the cost of moving the units axis first.
        flat = counts.reshape(-1, counts.shape[-1])
        return np.ascontiguousarray(flat @ weights.T).reshape(counts.shape)
    moved = np.moveaxis(counts, axis, 0)
    flat = np.ascontiguousarray(moved.reshape(moved.shape[0], -1))
    summed = np.asarray(weights @ flat).reshape(moved.shape)
    # Back in the counts' own layout, so that sums over units run along memory.
    return np.ascontiguousarray(np.moveaxis(summed, 0, axis))


def smooth(counts: ArrayLike, weights: object, *, axis: int = -1) -> Array:
    """Egohood sums Σ_j w_ij c_j, shape of ``counts``: the units axis (``axis``, last by
    default; -2 for multigroup tables (..., n_units, n_groups)) is multiplied by W, every other
    axis rides along in a single sparse product (no loop over draws).

    Not rounded: PySAL's rounding to whole persons is an option of the index functions.
    """
    c = _counts(counts, "counts")
    w = _weights(weights)
    try:
        n_units = c.shape[axis]
    except IndexError:
        raise ValueError(f"axis: {axis} is out of range for counts of shape {c.shape}") from None
    if n_units != w.shape[0]:
        raise ValueError(
            f"counts: {n_units} units along axis {axis}, but the weights are for {w.shape[0]} units"
        )
    return _smooth(c, w, axis)


def packed_weights(
    weights: Iterable[scipy.sparse.csr_matrix], width: int
) -> scipy.sparse.csr_matrix:
    """The weights of several areas as one block-diagonal matrix for
    ``egohood_indices(..., packed=True)``: area k's units are rows and columns k·width …
    k·width + n_k − 1, and the padding units after them (up to ``width``) have no weights,
    so their egohood sums are 0."""
    rows, columns, values = [], [], []
    count = 0
    for count, matrix in enumerate(weights, start=1):
        block = matrix.tocoo()
        if block.shape[0] > width:
            raise ValueError(f"weights: an area of {block.shape[0]} units in a width of {width}")
        offset = (count - 1) * width
        rows.append(block.row + offset)
        columns.append(block.col + offset)
        values.append(block.data)
    if count == 0:
        raise ValueError("weights: no areas to pack")
    size = count * width
    packed = scipy.sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(size, size),
    )
    packed.sort_indices()
    return packed


def _egohood_pair(
    group: ArrayLike, total: ArrayLike, weights: object, rounded: bool, packed: bool
) -> tuple[Array, Array]:
    w = _weights(weights)
    shape = None
    if packed:  # (..., areas, units) -> (..., areas · units), the order of the packed W
        g, t = _counts(group, "group", min_ndim=2), _counts(total, "total", min_ndim=2)
        try:
            shape = np.broadcast_shapes(g.shape, t.shape)
        except ValueError:
            raise ValueError(
                f"group and total: their (areas, units) and batch axes do not broadcast: "
                f"{g.shape}, {t.shape}"
            ) from None
        group, total = (
            np.broadcast_to(values, shape).reshape(*shape[:-2], -1) for values in (g, t)
        )
    g, t = _group_and_total(group, total, w.shape[0])
    summed = _smooth(np.stack([g, t]), w, axis=-1)  # both in one product
    if rounded:
        summed = np.round(summed)
    if packed:
        summed = summed.reshape(2, *shape)
    # Sums of w·g never exceed sums of w·t (monotone rounding); clip a part's few ulps anyway.
    return np.minimum(summed[0], summed[1]), summed[1]


def _raise_if_undefined(members: Array, others: Array) -> None:
    """One set of counts: say which argument makes the index undefined (batches give NaN)."""
    if members.ndim == 0:
        if members.sum() <= 0:
            raise ValueError(f"group: {_NO_MEMBERS}")
        if others.sum() <= 0:
            raise ValueError(f"total: {_NOBODY_ELSE}")


def egohood_indices(
    group: ArrayLike,
    total: ArrayLike,
    weights: object,
    *,
    rounded: bool = True,
    packed: bool = False,
) -> dict[str, Index]:
    """Egohood ``dissimilarity`` and ``entropy`` from one smoothing of the counts (see
    :func:`egohood_dissimilarity` and :func:`egohood_entropy`).

    ``packed=True`` measures several areas in one smoothing: the counts' last two axes are
    (areas, units), each area padded with empty units to the same width, and ``weights``
    is :func:`packed_weights` of the areas' own weights. The values then have one entry per
    area on their last axis. Padding units are empty before and after smoothing, and
    empty units add nothing to D or H, so each value is the area's own."""
    g, t = _egohood_pair(group, total, weights, rounded, packed)
    other = t - g
    members, others = g.sum(axis=-1), other.sum(axis=-1)
    _raise_if_undefined(members, others)
    # The smoothed counts are valid by construction: the aspatial formulas without checks.
    undefined = ((members <= 0, f"group: {_NO_MEMBERS}"), (others <= 0, f"total: {_NOBODY_ELSE}"))
    return {
        "dissimilarity": _finish(
            indices._dissimilarity_value(g, other, members, others), *undefined
        ),
        "entropy": _finish(indices._entropy_value(g, other, t, members, others), *undefined),
    }


def egohood_dissimilarity(
    group: ArrayLike, total: ArrayLike, weights: object, *, rounded: bool = True
) -> Index:
    """Spatial dissimilarity D of egohoods: :func:`indices.dissimilarity` of the group and
    the rest of the total, both smoothed by W (:func:`kernel_weights`).

    PySAL ``Dissim(gdf, group, total, distance=d)`` (``rounded=True``, the default).
    """
    return egohood_indices(group, total, weights, rounded=rounded)["dissimilarity"]


def egohood_entropy(
    group: ArrayLike, total: ArrayLike, weights: object, *, rounded: bool = True
) -> Index:
    """Spatial information theory index H of egohoods: :func:`indices.entropy` of the smoothed
    group and total. PySAL ``Entropy(gdf, group, total, distance=d)``."""
    return egohood_indices(group, total, weights, rounded=rounded)["entropy"]


def _egohood_table(counts: ArrayLike, weights: object, rounded: bool) -> Array:
    w = _weights(weights)
    n = _counts(counts, "counts", min_ndim=2)
    if n.shape[-2] != w.shape[0]:
        raise ValueError(f"counts: {n.shape[-2]} units, but the weights are for {w.shape[0]} units")
    summed = _smooth(n, w, axis=-2)
    return np.round(summed) if rounded else summed


def egohood_multigroup_dissimilarity(
    counts: ArrayLike, weights: object, *, rounded: bool = True
) -> Index:
    """Multigroup D of egohoods: each group smoothed by W, then
    :func:`indices.multigroup_dissimilarity`. ``counts``: (..., n_units, n_groups), groups
    partitioning the population. PySAL ``MultiDissim(gdf, groups, distance=d)``."""
    return indices.multigroup_dissimilarity(_egohood_table(counts, weights, rounded))


def egohood_multigroup_entropy(
    counts: ArrayLike, weights: object, *, rounded: bool = True
) -> Index:
    """Multigroup Theil H of egohoods: each group smoothed by W, then
    :func:`indices.multigroup_entropy`. PySAL ``MultiInfoTheory(gdf, groups, distance=d)``
    (which is NaN when a group has no members; this leaves the group out)."""
    return indices.multigroup_entropy(_egohood_table(counts, weights, rounded))


def multiscalar_profile(
    group: ArrayLike,
    total: ArrayLike,
    points: ArrayLike,
    distances: Iterable[float],
    *,
    index: str = "dissimilarity",
    function: str = "triangular",
    rounded: bool = True,
) -> dict[float, Index]:
    """Egohood index by distance (Reardon et al. 2008, segregation profiles).

    Like ``segregation.dynamics.compute_multiscalar_profile(gdf, segregation_index=Dissim
    (or Entropy), group_pop_var=…, total_pop_var=…, distances=…)``: the first entry, at
    distance 0, is the aspatial index; then one per distance, in the order given. ``index``:
    "dissimilarity" or "entropy". Values are floats, or arrays for batched counts.

    PySAL builds these weights with ``libpysal.graph.Graph.build_kernel``, whose kernels are
    named differently (parabolic, bisquare, boxcar): the triangular kernel (the default of
    both) and the gaussian give the same weights as :func:`kernel_weights`.
    """
    if index not in _PROFILE_INDICES:
        raise ValueError(f"index: expected one of {_PROFILE_INDICES}, got {index!r}")
    xy = _points(points)
    kind = _function(function)
    if isinstance(distances, str | bytes) or not isinstance(distances, Iterable):
        raise ValueError(f"distances: expected an iterable of distances, got {distances!r}")
    bandwidths = [_non_negative(distance, "distances") for distance in distances]
    g, t = _group_and_total(group, total, xy.shape[0])
    if index == "dissimilarity":
        profile: dict[float, Index] = {0.0: indices.dissimilarity(g, t - g)}
        egohood_index = egohood_dissimilarity
    else:
        profile = {0.0: indices.entropy(g, t)}
        egohood_index = egohood_entropy
    for bandwidth in bandwidths:
        if bandwidth > 0:
            weights = kernel_weights(xy, bandwidth, kind)
            profile[bandwidth] = egohood_index(g, t, weights, rounded=rounded)
    return profile


# --------------------------------------------------------------------------------------------
# Distance decay: PySAL's dense proximity matrix, in blocks
# --------------------------------------------------------------------------------------------


def _row_slices(n_units: int, step: int) -> Iterator[slice]:
    """Consecutive blocks of ``step`` rows (the last one shorter) over ``n_units``."""
    return (slice(start, min(start + step, n_units)) for start in range(0, n_units, step))


def _distances(points: Array, rows: slice) -> Array:
    """Euclidean distances from the points in ``rows`` to every point, (rows, n_units):
    √(dx² + dy²) from exact differences, in one compiled pass (scipy's cdist)."""
    return cdist(points[rows], points)


@dataclass(frozen=True, eq=False)
class DecayProximity:
    """PySAL's distance-decay proximity matrix c, held implicitly and built in row blocks.

    ``segregation.util.generate_distance_matrix`` divides the centroid distance matrix D by
    ``D.sum(axis=1)``, which numpy broadcasts along rows, so column j is divided by s_j =
    Σ_k d_jk (unit j's distances to all units, empty ones included); it takes exp(−·), puts
    exp(−(α a_i)^β) on the diagonal (a_i: the unit's area in CRS units, m²) and the indices
    use c = 1 − that:

        c_ij = 1 − exp(−d_ij / s_j)   (i ≠ j),     c_ii = 1 − exp(−(α a_i)^β).

    So c is not symmetric, grows with distance, and for tracts in metres c_ii is 1 to machine
    precision ((0.6 · 10⁶ m²)^½ ≈ 775). Morgan's decay would be exp(−d_ij); this reproduces
    PySAL, not the textbook. 1 − exp(−x) is computed as −expm1(−x), which is exact where PySAL
    loses ~1e-12 relative; distances are exact differences (sklearn's dot-product formula in
    PySAL errs by ~1e-9 relative on close pairs). Coincident centroids only (s_j = 0) give
    c_ij = 0 where PySAL gives NaN.

    Build it with :func:`decay_proximity`. Up to 2,896 units (64 MB) the matrix is built once
    and kept in ``matrix``. Beyond, it is never whole: each pass recomputes it in blocks of
    ``block_rows`` rows (16 MB each, a few alive at once: under ~100 MB at any n), about
    23 ns per element for a block of rows and the matching block of columns
    (:meth:`row_and_column_blocks`).
    """

    points: Array
    self_proximity: Array
    column_sums: Array
    block_rows: int
    matrix: Array | None = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return self.points.shape[0]

    def blocks(self) -> Iterator[tuple[slice, Array]]:
        """(rows, c[rows, :]) for consecutive row blocks."""
        if self.matrix is not None:
            yield slice(0, self.n_units), self.matrix
            return
        for rows in _row_slices(self.n_units, self.block_rows):
            yield rows, self._block(_distances(self.points, rows), self.column_sums, rows)

    def _block(self, distances: Array, scale: Array, rows: slice) -> Array:
        """1 − exp(−distances / scale), 0 where the scale is 0, with the self-proximity of
        the units in ``rows`` on their diagonal; computed in place in ``distances``."""
        scaled = np.divide(distances, np.where(scale > 0, scale, np.inf), out=distances)
        block = np.negative(np.expm1(np.negative(scaled, out=scaled), out=scaled), out=scaled)
        local = np.arange(rows.stop - rows.start)
        block[local, local + rows.start] = self.self_proximity[rows]
        return block

    def dot(self, values: Array) -> Array:
        """c @ values over the last (units) axis: out[..., i] = Σ_j c_ij values[..., j]."""
        flat = values.reshape(-1, self.n_units)
        out = np.empty_like(flat)
        for rows, block in self.blocks():
            out[:, rows] = flat @ block.T
        return out.reshape(values.shape)

    def row_and_column_blocks(
        self, max_rows: int | None = None
    ) -> Iterator[tuple[slice, Array, Array]]:
        """(rows, c[rows, :], c[:, rows]ᵀ) for consecutive blocks of at most ``max_rows``
        rows: both from one block of distances (d is symmetric; only the scaling differs, by
        s_j of the column or of the row), so c @ x and cᵀ @ x over a block of units cost one
        pass together."""
        step = self.block_rows if max_rows is None else max(1, min(self.block_rows, max_rows))
        for rows in _row_slices(self.n_units, step):
            if self.matrix is not None:
                yield rows, self.matrix[rows], self.matrix[:, rows].T
                continue
            distances = _distances(self.points, rows)
            ahead = self._block(distances.copy(), self.column_sums, rows)
            yield rows, ahead, self._block(distances, self.column_sums[rows, None], rows)

    def toarray(self) -> Array:
        """The dense matrix c (n_units × n_units): for small n and for tests."""
        return np.vstack([block.copy() for _, block in self.blocks()])


def decay_proximity(
    points: ArrayLike, areas: ArrayLike, *, alpha: float = 0.6, beta: float = 0.5
) -> DecayProximity:
    """The proximity matrix of PySAL's ``DistanceDecayIsolation``, ``DistanceDecayInteraction``
    and ``SpatialProximity`` (see :class:`DecayProximity`).

    ``points``: unit centroids (n_units, 2) in a projected CRS; ``areas``: unit areas
    (n_units,) in the same CRS (``gdf.area``); ``alpha`` and ``beta``: PySAL's defaults 0.6
    and 0.5 (they set only the diagonal, c_ii = 1 − exp(−(α a_i)^β)).
    """
    xy = _points(points)
    n = xy.shape[0]
    try:
        area = np.asarray(areas, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"areas: not an array of areas ({error})") from None
    if area.shape != (n,):
        raise ValueError(f"areas: expected one area per point, shape ({n},), got {area.shape}")
    if not np.isfinite(area).all() or (area < 0).any():
        raise ValueError("areas: must be finite and non-negative")
    a = _non_negative(alpha, "alpha")
    b = _non_negative(beta, "beta")
    block_rows = max(1, min(n, _BLOCK_BYTES // (8 * n)))
    # Distances are symmetric, so each block's row sums are the column sums s_j.
    sums = np.empty(n)
    for rows in _row_slices(n, block_rows):
        sums[rows] = _distances(xy, rows).sum(axis=1)
    proximity = DecayProximity(
        points=xy,
        self_proximity=-np.expm1(-((a * area) ** b)),
        column_sums=sums,
        block_rows=block_rows,
    )
    if 8 * n * n > _DENSE_BYTES:
        return proximity
    matrix = proximity.toarray()
    matrix.flags.writeable = False
    return replace(proximity, block_rows=n, matrix=matrix)


def _decay_inputs(group: ArrayLike, total: ArrayLike, proximity: object):
    if not isinstance(proximity, DecayProximity):
        raise ValueError(
            f"proximity: expected a DecayProximity (from decay_proximity), got "
            f"{type(proximity).__name__}"
        )
    return _group_and_total(group, total, proximity.n_units)


def _decay_exposure(group: ArrayLike, total: ArrayLike, proximity: object, *, own: bool):
    g, t = _decay_inputs(group, total, proximity)
    # PySAL: P_ij = c_ij t_j / r_j, r_j = Σ_k c_jk t_k (numpy divides column j by row sum j),
    # and index = Σ_i (x_i/X) Σ_j P_ij y_j/t_j = Σ_i (x_i/X) Σ_j c_ij y_j / r_j, with y the
    # group itself (isolation) or the rest of the total (interaction); nansum drops t_j = 0.
    reach = proximity.dot(t)
    exposed = _ratio(g if own else np.maximum(t - g, 0.0), reach)
    members = g.sum(axis=-1)
    value = _ratio((g * proximity.dot(exposed)).sum(axis=-1), members)
    return _finish(value, (members <= 0, f"group: {_NO_MEMBERS}"))


def distance_decay_isolation(group: ArrayLike, total: ArrayLike, proximity: object) -> Index:
    """Distance-decay isolation DDxPx as PySAL ``DistanceDecayIsolation`` computes it:
    Σ_i (x_i/X) Σ_j c_ij x_j / r_j with r_j = Σ_k c_jk t_k and c from
    :func:`decay_proximity`. (Morgan 1983 has r_i, the row sum, and exp(−d_ij); PySAL's
    broadcasting takes the column's.)"""
    return _decay_exposure(group, total, proximity, own=True)


def distance_decay_interaction(group: ArrayLike, total: ArrayLike, proximity: object) -> Index:
    """Distance-decay interaction DDxPy of the group with the rest of the total, as PySAL
    ``DistanceDecayInteraction``: Σ_i (x_i/X) Σ_j c_ij y_j / r_j, y = total − group. Because
    of the column sums r_j it does not add up to 1 with :func:`distance_decay_isolation`."""
    return _decay_exposure(group, total, proximity, own=False)


def spatial_proximity(group: ArrayLike, total: ArrayLike, proximity: object) -> Index:
    """Spatial proximity SP = (X P_xx + Y P_yy) / (T P_tt) (White 1983), PySAL
    ``SpatialProximity``: P_xx = Σ_ij x_i x_j c_ij / X², likewise for y = total − group and
    for t, with c from :func:`decay_proximity`. 1 when both groups cluster alike."""
    g, t = _decay_inputs(group, total, proximity)
    stacked = np.stack([g, np.maximum(t - g, 0.0), t])  # x, y, t: one pass over c
    forms = (stacked * proximity.dot(stacked)).sum(axis=-1)  # x'cx, y'cy, t'ct
    sums = stacked.sum(axis=-1)
    value = _ratio(_ratio(forms[0], sums[0]) + _ratio(forms[1], sums[1]), _ratio(forms[2], sums[2]))
    return _finish(
        value,
        (sums[0] <= 0, f"group: {_NO_MEMBERS}"),
        (sums[1] <= 0, f"total: {_NOBODY_ELSE}"),
    )
