"""Concentration, centralization and clustering: the geometric indices of Massey & Denton
(1988), as PySAL ``segregation`` 2.5.4 computes them, batched over draws.

Conventions follow :mod:`housing_segregation.indices`: counts have shape ``(..., n_units)``,
results shape ``(...)`` (a ``float`` for 1-d counts), invalid input raises ``ValueError``
naming the argument, and an undefined value raises for one set of counts but is NaN in a
batch. Geometry is per unit and shared by every draw: ``area`` (n_units,) in m²,
``centroids`` (n_units, 2) in projected metres, ``distance_to_centre`` (n_units,). Get them
with :func:`unit_geometry`, :func:`study_area_centre` and :func:`distance_to_centre`, which
reproduce the choices PySAL makes from a GeoDataFrame:

- **Area and centroids** are ``gdf.area`` and ``gdf.centroid`` in the frame's own CRS.
- **The centre** of the centralization indices is PySAL's default ``center="mean"``: the
  unweighted mean of the unit centroids' x and y, not the centroid of the dissolved study
  area. Distances to it are Euclidean, ``sqrt(dx**2 + dy**2)``.
- **Ties.** Concentration orders units by area and centralization by distance to the centre
  with NumPy's default (unstable) ``argsort``, as PySAL does, so equal areas or distances
  are ordered exactly as in PySAL when the arrays are the same; the helpers compute them
  with PySAL's arithmetic so they are.
- **Clustering** uses PySAL's proximity matrix, which is *not* Massey & Denton's
  c_ij = exp(−d_ij): ``generate_distance_matrix`` divides each distance by the sum of the
  distances from the column's unit, w_ij = d_ij / Σ_k d_jk, takes exp(−w), sets the diagonal
  to exp(−(α a_i)^β), and the indices then use c = 1 − that matrix. So off the diagonal
  c_ij = 1 − exp(−d_ij / s_j) (it grows with distance, and does not depend on the CRS unit),
  and on it c_ii = 1 − exp(−(α a_i)^β) with the area in the CRS unit squared.
- **CRS-unit dependence.** Delta, concentration and centralization use only area shares,
  area-weighted means in ratios and the order of distances: rescaling the CRS leaves them
  unchanged (another projection does change them slightly; Sacramento in degrees vs
  EPSG:5070 gives ACE 0.6891 vs 0.6915). Absolute and relative clustering depend on the
  unit through the diagonal: with tract areas in m², (0.6 a)^0.5 is in the hundreds and
  c_ii = 1 to double precision; for a 1 km² tract in a CRS in km, c_ii = 0.54. The
  indices here expect metres, as the pipeline's EPSG:5070 gives; :func:`unit_geometry`
  refuses other units (degrees only with ``allow_geographic=True``).
- **Relative clustering** reproduces a PySAL slip: P_xx = Σ_ij x_j² c_ij / X² (PySAL
  multiplies c by the vector ``xi * xi``), not Massey & Denton's Σ_ij x_i x_j c_ij / X².
- **Empty units are not neutral here**, unlike the aspatial indices: a unit with total 0
  still has area (Delta, absolute centralization), a centroid in the default centre (both
  centralizations), a distance to the others (the clustering normalisation s_j) and counts
  in n (absolute clustering's X/n²). Only concentration ignores empty units.
- **No members.** PySAL returns 0 (via ``np.nansum``) or NaN when the group has no
  members; here that is undefined, as in :mod:`indices`.

Every function equals the PySAL class of the same name to 1e-9 on the same GeoDataFrame
(tests/test_geometric.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from .indices import (
    _NO_MEMBERS,
    Array,
    Index,
    _aligned,
    _finish,
    _group_in_total,
    _ratio,
    _sum_exceeds,
)
from .spatial import DecayProximity, decay_proximity

__all__ = [
    "absolute_centralization",
    "absolute_clustering",
    "absolute_concentration",
    "concentration_indices",
    "delta",
    "distance_to_centre",
    "packed_local_indices",
    "proximity_indices",
    "relative_centralization",
    "relative_clustering",
    "relative_concentration",
    "study_area_centre",
    "unit_geometry",
]

#: Elements per block of the n × n proximity matrix (16 MB of float64): clustering keeps a
#: few such blocks alive, about 100 MB at 5,000 units whatever the number of units.
_BLOCK_ELEMENTS = 2**21

#: Elements of one product of c with a batch of counts (4 MB of float64): its blocks of
#: units are cut so that the handful of such products alive at once stays small.
_PRODUCT_ELEMENTS = 2**19


# --------------------------------------------------------------------------------------------
# Geometry from a GeoDataFrame, as PySAL computes it
# --------------------------------------------------------------------------------------------


def _check_crs(gdf, allow_geographic: bool) -> None:
    crs = getattr(gdf, "crs", None)
    if crs is None:
        raise ValueError("gdf: has no CRS; project it to a CRS in metres (e.g. EPSG:5070)")
    if crs.is_geographic:
        if not allow_geographic:
            raise ValueError(
                f"gdf: CRS {crs.to_string()} is geographic (degrees); project it to a CRS in "
                "metres, or pass allow_geographic=True to reproduce PySAL on such data"
            )
        return
    units = {axis.unit_name for axis in crs.axis_info}
    if not units <= {"metre", "meter"}:
        raise ValueError(
            f"gdf: CRS {crs.to_string()} is in {sorted(units)}, not metres; the clustering "
            "indices depend on the unit of area, so project it to a CRS in metres"
        )


def _geometry_in_own_crs(gdf, allow_geographic: bool):
    """(area, centroid x, centroid y) as ``gdf.area`` and ``gdf.centroid`` give them."""
    _check_crs(gdf, allow_geographic)
    with warnings.catch_warnings():
        # geopandas warns that areas in degrees² are meaningless: the caller opted in.
        warnings.filterwarnings("ignore", message="Geometry is in a geographic CRS")
        area = np.array(gdf.area, dtype=np.float64)
        centroid = gdf.centroid
        x, y = np.array(centroid.x, dtype=np.float64), np.array(centroid.y, dtype=np.float64)
    if not (np.isfinite(area).all() and np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("gdf: some geometries are empty or invalid (no area or centroid)")
    return area, x, y


def unit_geometry(gdf, *, allow_geographic: bool = False) -> tuple[Array, Array]:
    """Each unit's area and centroid, ``(area (n,), centroids (n, 2))``, in ``gdf``'s CRS.

    PySAL's choice: ``gdf.area`` and the polygon centroids ``gdf.centroid``, in whatever CRS
    the frame is in. The CRS must be projected in metres (EPSG:5070 in the pipeline);
    ``allow_geographic=True`` accepts degrees, only to reproduce PySAL on unprojected data
    (its Sacramento reference values), where areas are in degrees².
    """
    area, x, y = _geometry_in_own_crs(gdf, allow_geographic)
    return area, np.column_stack([x, y])


def study_area_centre(gdf, *, allow_geographic: bool = False) -> Array:
    """The centre PySAL's centralization indices use by default (``center="mean"``): the
    unweighted mean of the unit centroids' x and y, shape (2,). Not the centroid of the
    dissolved study area, nor population-weighted."""
    _, x, y = _geometry_in_own_crs(gdf, allow_geographic)
    # A mean over a contiguous 1-d array, as PySAL takes it (same rounding, same ties).
    return np.array([x.mean(), y.mean()])


def distance_to_centre(centroids: ArrayLike, centre: ArrayLike) -> Array:
    """Euclidean distance from each unit centroid to ``centre``, computed as PySAL does
    (``sqrt(dx**2 + dy**2)``) so that equal distances stay equal and sort alike."""
    points = _centroids(centroids)
    point = _finite(centre, "centre")
    if point.shape != (2,):
        raise ValueError(f"centre: expected one point (x, y), got shape {point.shape}")
    dx, dy = points[:, 0] - point[0], points[:, 1] - point[1]
    return np.sqrt(dx**2 + dy**2)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _finite(values: ArrayLike, name: str) -> Array:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: not an array of numbers ({error})") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains missing or infinite values")
    return array


def _per_unit(values: ArrayLike, name: str, n_units: int) -> Array:
    """A non-negative value per unit, shape (n_units,)."""
    array = _finite(values, name)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one value per unit (a 1-d array shared by all draws)")
    if len(array) != n_units:
        raise ValueError(f"{name}: {len(array)} values for {n_units} units")
    if (array < 0).any():
        raise ValueError(f"{name}: contains negative values")
    return array


def _centroids(values: ArrayLike, n_units: int | None = None) -> Array:
    array = _finite(values, "centroids")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"centroids: expected shape (n_units, 2), got {array.shape}")
    if n_units is not None and len(array) != n_units:
        raise ValueError(f"centroids: {len(array)} points for {n_units} units")
    return array


def _area(values: ArrayLike, n_units: int) -> Array:
    area = _per_unit(values, "area", n_units)
    if area.sum() <= 0:
        raise ValueError("area: the units have no area")
    return area


def _group_and_other(
    group: ArrayLike, other: ArrayLike, total: ArrayLike | None = None
) -> tuple[Array, ...]:
    if total is None:
        c = _aligned(group=group, other=other)
        return c["group"], c["other"]
    c = _aligned(group=group, other=other, total=total)
    if _sum_exceeds(c["group"], c["other"], c["total"]):
        raise ValueError("group and other: together exceed total in some unit")
    return c["group"], c["other"], c["total"]


def _shape_parameter(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
        raise ValueError(f"{name}: must be a non-negative number, got {value!r}")
    return float(value)


_NO_OTHERS = "other: has no members in any unit"
_CLUSTERING_UNDEFINED = (
    "group: clustering is undefined (the group's proximity to everyone equals the baseline "
    "X/n² Σ c)"
)
_OTHERS_UNCLUSTERED = "other: clustering is undefined (zero proximity among the others)"


def _quotient(numerator: ArrayLike, denominator: ArrayLike) -> Array:
    """numerator / denominator for a denominator of either sign, 0 where it is 0 (those
    draws are then flagged undefined)."""
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


# --------------------------------------------------------------------------------------------
# Concentration: the share of space a group occupies
# --------------------------------------------------------------------------------------------


def delta(group: ArrayLike, total: ArrayLike, area: ArrayLike) -> Index:
    """Delta (Hoover) index Δ = ½ Σ |x_i/X − a_i/A|, PySAL ``Delta``: the share of the group
    that would have to move for its density to be the same in every unit. ``total`` only
    bounds ``group``."""
    g, _, _ = _group_in_total(group, total)
    a = _area(area, g.shape[-1])
    members = g.sum(axis=-1)
    return _finish(_delta_value(g, a, members), (members <= 0, f"group: {_NO_MEMBERS}"))


def _delta_value(g: Array, a: Array, members: Array) -> Array:
    return 0.5 * np.abs(_ratio(g, members[..., None]) - a / a.sum(axis=-1, keepdims=True)).sum(
        axis=-1
    )


def _sorted(values: Array, order: Array) -> Array:
    """``values`` (..., n_units) reordered along the units axis by ``order`` (n_units,); or,
    for a pack of areas, values (..., n_areas, width) each area by its own row of ``order``
    (n_areas, width), in one gather over the flattened last two axes."""
    if order.ndim == 1:
        return values[..., order]
    n_areas, width = order.shape
    flat = (order + width * np.arange(n_areas)[:, None]).ravel()
    values = np.broadcast_to(values, (*values.shape[:-2], n_areas, width))
    return values.reshape(*values.shape[:-2], n_areas * width)[..., flat].reshape(values.shape)


def _area_orders(a: Array) -> tuple[Array, Array]:
    """Units by ascending and by descending area, as PySAL sorts them (NumPy's default
    argsort of a and of −a: ties need not mirror each other)."""
    return np.argsort(a), np.argsort(-a)


def _first_reaching(cumulative: Array, population: Array, members: Array) -> Array:
    """PySAL's n1 (or n2_aux): 1 + the first position where the cumulative total share
    reaches the group's share, ``np.where((cumsum(t)/T < X/T) == False)[0][0] + 1``; all
    units if rounding keeps it short (PySAL raises IndexError there)."""
    below = _ratio(cumulative, population[..., None]) < _ratio(members, population)[..., None]
    n_units = cumulative.shape[-1]
    return np.where(below.all(axis=-1), n_units, np.argmin(below, axis=-1) + 1)


def _concentration_bounds(
    members: Array, t: Array, a: Array, orders: tuple[Array, Array]
) -> tuple[Array, Array, Array]:
    """Area-weighted mean area of the smallest units that together hold X people and of the
    largest ones (PySAL's T1 and T2 terms), and whether both are defined.

    As in PySAL, n1 counts units up from the smallest (``argsort(area)``) and n2 from the
    largest (``argsort(-area)``), and both are then applied to the ascending order: with ties
    in area the two orders need not be mirror images, and this reproduces PySAL exactly.
    ``orders`` are those two (:func:`_area_orders`), or a pack's (:func:`packed_local_indices`).
    """
    ascending, descending = orders
    population = t.sum(axis=-1)
    t_up = _sorted(t, ascending)
    width = a.shape[-1]
    n_small = _first_reaching(np.cumsum(t_up, axis=-1), population, members)
    n_large = width - _first_reaching(
        np.cumsum(_sorted(t, descending), axis=-1), population, members
    )
    position = np.arange(width)
    small = position < n_small[..., None]
    large = position >= n_large[..., None]
    weighted = t_up * _sorted(a, ascending)
    small_total = np.where(small, t_up, 0.0).sum(axis=-1)
    large_total = np.where(large, t_up, 0.0).sum(axis=-1)
    small_mean = _ratio(np.where(small, weighted, 0.0).sum(axis=-1), small_total)
    large_mean = _ratio(np.where(large, weighted, 0.0).sum(axis=-1), large_total)
    defined = (small_total > 0) & (large_total > 0)
    return small_mean, large_mean, defined


#: Mean areas this close (relative) are equal: PySAL divides rounding noise by rounding
#: noise there and returns an arbitrary number (0.0 on a grid of equal squares) or NaN.
_SAME = 1e-12

_SAME_AREA = (
    "area: the smallest and the largest units holding as many people as the group have the "
    "same mean area (e.g. every unit has the same area), so concentration is undefined"
)


def _absolute_concentration(g, a, members, bounds) -> Index:
    small_mean, large_mean, defined = bounds
    group_mean = _ratio((g * a).sum(axis=-1), members)
    spread = large_mean - small_mean
    value = 1 - _quotient(group_mean - small_mean, spread)
    return _finish(
        value,
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (~defined | (np.abs(spread) <= _SAME * large_mean), _SAME_AREA),
    )


def _relative_concentration(g, o, a, members, bounds) -> Index:
    small_mean, large_mean, defined = bounds
    others = o.sum(axis=-1)
    other_mean = _ratio((o * a).sum(axis=-1), others)
    relative_group = _ratio(_ratio((g * a).sum(axis=-1), members), other_mean)
    relative_bounds = _ratio(small_mean, large_mean) - 1
    value = _quotient(relative_group - 1, relative_bounds)
    return _finish(
        value,
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (others <= 0, _NO_OTHERS),
        (other_mean <= 0, "area: the other group lives only in units without area"),
        (~defined | (np.abs(relative_bounds) <= _SAME), _SAME_AREA),
    )


def absolute_concentration(group: ArrayLike, total: ArrayLike, area: ArrayLike) -> Index:
    """Absolute concentration ACO, PySAL ``AbsoluteConcentration``:

    ACO = 1 − (Σ x_i a_i / X − Σ_{i≤n1} t_i a_i / T1)
            / (Σ_{i≥n2} t_i a_i / T2 − Σ_{i≤n1} t_i a_i / T1)

    with units sorted by area, n1 the number of smallest units that together hold X people
    (T1 their population) and n2 the first of the largest units that do (T2). 1 when the
    group lives in the smallest units, 0 in the largest. See pysal/segregation#43 for n1, n2.
    """
    g, t, _ = _group_in_total(group, total)
    a = _area(area, g.shape[-1])
    members = g.sum(axis=-1)
    return _absolute_concentration(
        g, a, members, _concentration_bounds(members, t, a, _area_orders(a))
    )


def relative_concentration(
    group: ArrayLike, other: ArrayLike, total: ArrayLike, area: ArrayLike
) -> Index:
    """Relative concentration RCO, PySAL ``RelativeConcentration``:

    RCO = ((Σ x_i a_i / X) / (Σ y_i a_i / Y) − 1)
          / ((Σ_{i≤n1} t_i a_i / T1) / (Σ_{i≥n2} t_i a_i / T2) − 1)

    with y = ``other`` and n1, n2, T1, T2 as in :func:`absolute_concentration`. PySAL takes
    other = total − group; any other group within the total is accepted. Positive when the
    group occupies less space than the other group, −1 … 1.
    """
    g, o, t = _group_and_other(group, other, total)
    a = _area(area, g.shape[-1])
    members = g.sum(axis=-1)
    return _relative_concentration(
        g, o, a, members, _concentration_bounds(members, t, a, _area_orders(a))
    )


def concentration_indices(
    group: ArrayLike, other: ArrayLike, total: ArrayLike, area: ArrayLike
) -> dict[str, Index]:
    """:func:`absolute_concentration` (of the group in ``total``) and
    :func:`relative_concentration` (of the group and ``other``) sharing their bounds,
    computed once. A ``total`` shared by several groups (fewer leading axes) is sorted and
    summed once. A single set of counts raises if either is undefined."""
    g, o, _ = _group_and_other(group, other, total)
    a = _area(area, g.shape[-1])
    members = g.sum(axis=-1)
    bounds = _concentration_bounds(members, np.asarray(total, dtype=np.float64), a, _area_orders(a))
    return {
        "absolute_concentration": _absolute_concentration(g, a, members, bounds),
        "relative_concentration": _relative_concentration(g, o, a, members, bounds),
    }


# --------------------------------------------------------------------------------------------
# Centralization: how close to the centre a group lives
# --------------------------------------------------------------------------------------------


def _outwards(distance: ArrayLike, n_units: int) -> np.ndarray:
    # NumPy's default argsort, as PySAL: equal distances are ordered as PySAL orders them.
    return np.argsort(_per_unit(distance, "distance_to_centre", n_units))


def absolute_centralization(
    group: ArrayLike, total: ArrayLike, distance_to_centre: ArrayLike, area: ArrayLike
) -> Index:
    """Absolute centralization ACE = Σ X_{i−1} A_i − Σ X_i A_{i−1}, PySAL
    ``AbsoluteCentralization``, with units sorted by distance to the centre, X_i the group's
    and A_i the area's cumulative shares. Near 1 when the group lives close to the centre
    relative to land area, negative when it lives on the edge. ``total`` only bounds
    ``group``; PySAL needs the units' ``area`` too, so it is an argument here.
    """
    g, _, _ = _group_in_total(group, total)
    n_units = g.shape[-1]
    order = _outwards(distance_to_centre, n_units)
    a = _area(area, n_units)
    members = g.sum(axis=-1)
    value = _absolute_centralization_value(g, a, order, members)
    return _finish(value, (members <= 0, f"group: {_NO_MEMBERS}"))


def _absolute_centralization_value(g: Array, a: Array, order: Array, members: Array) -> Array:
    return _ratio(np.vecdot(g, _absolute_centralization_weights(a, order)), members)


def _absolute_centralization_weights(a: Array, order: Array) -> Array:
    """Each unit's weight w in ACE = Σ_k w_k x_k / X, from the areas alone (so no draw is
    sorted). PySAL's curve Σ_i X_{i−1} A_i − Σ_i X_i A_{i−1} (units sorted outwards, X and
    A cumulative shares) is bilinear in the group and the areas: a pair of units k before
    l adds x_k a_l, a pair with k after l takes it away, so unit k weighs
    (Σ_{l after k} a_l − Σ_{l before k} a_l) / A = (A − 2 A_k + a_k) / A, A_k the area up
    to and including k. ``order`` is (n_units,) or a pack's (n_areas, width), as
    :func:`_sorted` takes it."""
    outwards = _sorted(a, order)
    cumulative = np.cumsum(outwards, axis=-1)
    total = cumulative[..., -1:]
    weights = np.empty_like(outwards)
    np.put_along_axis(
        weights, np.atleast_1d(order), (total - 2 * cumulative + outwards) / total, -1
    )
    return weights


def relative_centralization(
    group: ArrayLike, other: ArrayLike, distance_to_centre: ArrayLike
) -> Index:
    """Relative centralization RCE = Σ X_{i−1} Y_i − Σ X_i Y_{i−1}, PySAL
    ``RelativeCentralization`` (there other = total − group), units sorted by distance to
    the centre. Positive when the group lives closer to the centre than the other group,
    −1 … 1."""
    g, o = _group_and_other(group, other)
    order = _outwards(distance_to_centre, g.shape[-1])
    members, others = g.sum(axis=-1), o.sum(axis=-1)
    value = _relative_centralization_value(g, o, order, members, others)
    return _finish(value, (members <= 0, f"group: {_NO_MEMBERS}"), (others <= 0, _NO_OTHERS))


def _relative_centralization_value(
    g: Array, o: Array, order: Array, members: Array, others: Array
) -> Array:
    """PySAL's curve Σ_i X_{i−1} Y_i − Σ_i X_i Y_{i−1} (X, Y cumulative shares outwards),
    summed in closed form: a pair of units k before l adds x_k y_l, after takes it away,
    so X·Y·RCE = Σ_l y_l (G_{l−1} − (X − G_l)) = Σ_l y_l (2 G_l − x_l) − X·Y, with G the
    group's cumulative count: one cumulative sum instead of two and no shares."""
    group_outwards = _sorted(g, order)
    cumulative = np.cumsum(group_outwards, axis=-1)
    cumulative *= 2
    cumulative -= group_outwards
    return _ratio(np.vecdot(_sorted(o, order), cumulative), members * others) - 1


# --------------------------------------------------------------------------------------------
# Delta, concentration and centralization of several areas at once
# --------------------------------------------------------------------------------------------


def packed_local_indices(
    group: ArrayLike,
    other: ArrayLike,
    total: ArrayLike,
    areas: Sequence[ArrayLike],
    distances_to_centre: Sequence[ArrayLike],
) -> dict[str, Array]:
    """:func:`delta`, :func:`concentration_indices` and the two centralization indices of
    the areas of a pack at once, from one call per index however many areas there are.

    Counts have shape (..., n_areas, width): area k's units first, then padding (empty
    units, all counts 0) up to ``width``. ``areas`` and ``distances_to_centre`` are each
    area's own, unpadded (area k has ``len(areas[k])`` units). Values have shape
    (..., n_areas), NaN where undefined (as in a batch). Each equals the function of the
    same name on the area's own units, to rounding: units are sorted per area exactly as
    those functions sort them, and padding is given area 0 and placed where it adds nothing
    to any sum (first by area, last outwards).
    """
    g, o, _ = _group_and_other(group, other, total)
    n_areas, width = g.shape[-2:]
    if len(areas) != n_areas or len(distances_to_centre) != n_areas:
        raise ValueError(
            f"areas, distances_to_centre: {len(areas)} and {len(distances_to_centre)} areas "
            f"for counts of {n_areas}"
        )
    a = np.zeros((n_areas, width))
    ascending, descending, outwards = (np.empty((n_areas, width), dtype=np.intp) for _ in "abc")
    for k, (own_area, distance) in enumerate(zip(areas, distances_to_centre, strict=True)):
        n_units = len(own_area)
        own_area = _area(own_area, n_units)
        if n_units > width:
            raise ValueError(f"areas: area {k} has {n_units} units, wider than the counts")
        a[k, :n_units] = own_area
        up, down = _area_orders(own_area)
        padding = np.arange(n_units, width)
        ascending[k] = np.concatenate([padding, up])
        descending[k] = np.concatenate([down, padding])
        outwards[k] = np.concatenate([_outwards(distance, n_units), padding])
    members, others = g.sum(axis=-1), o.sum(axis=-1)
    # A total shared by several groups (fewer leading axes) is sorted and summed once.
    t = np.asarray(total, dtype=np.float64)
    bounds = _concentration_bounds(members, t, a, (ascending, descending))
    no_members = (members <= 0, f"group: {_NO_MEMBERS}")
    return {
        "delta": _finish(_delta_value(g, a, members), no_members),
        "absolute_concentration": _absolute_concentration(g, a, members, bounds),
        "relative_concentration": _relative_concentration(g, o, a, members, bounds),
        "absolute_centralization": _finish(
            _absolute_centralization_value(g, a, outwards, members), no_members
        ),
        "relative_centralization": _finish(
            _relative_centralization_value(g, o, outwards, members, others),
            no_members,
            (others <= 0, _NO_OTHERS),
        ),
    }


# --------------------------------------------------------------------------------------------
# Clustering: PySAL's n × n proximity matrix, a block of rows at a time
# --------------------------------------------------------------------------------------------


def _proximity_blocks(points: Array, a: Array, alpha: float, beta: float):
    """Yield (rows, c[rows, :]) of PySAL's proximity matrix c = 1 − exp(−d_ij / s_j), with
    s_j = Σ_k d_jk and diagonal 1 − exp(−(α a_i)^β): the matrix of the distance-decay
    indices (:class:`spatial.DecayProximity`), in blocks of at most ``_BLOCK_ELEMENTS``."""
    n_units = len(points)
    proximity = decay_proximity(points, a, alpha=alpha, beta=beta)
    if n_units > 1 and (proximity.column_sums <= 0).any():
        raise ValueError("centroids: every unit has the same centroid")
    block_rows = max(1, _BLOCK_ELEMENTS // n_units)
    if block_rows < n_units:
        proximity = replace(proximity, matrix=None, block_rows=block_rows)
    return proximity.blocks()


def _clustering_geometry(
    centroids: ArrayLike, area: ArrayLike, n_units: int, alpha: float, beta: float
) -> tuple[Array, Array, float, float]:
    points = _centroids(centroids, n_units)
    a = _per_unit(area, "area", n_units)
    return points, a, _shape_parameter(alpha, "alpha"), _shape_parameter(beta, "beta")


def absolute_clustering(
    group: ArrayLike,
    total: ArrayLike,
    centroids: ArrayLike,
    area: ArrayLike,
    *,
    alpha: float = 0.6,
    beta: float = 0.5,
) -> Index:
    """Absolute clustering ACL, PySAL ``AbsoluteClustering``:

    ACL = (Σ_i (x_i/X) Σ_j c_ij x_j − (X/n²) Σ_ij c_ij)
          / (Σ_i (x_i/X) Σ_j c_ij t_j − (X/n²) Σ_ij c_ij)

    with PySAL's proximity c (module docstring): off the diagonal 1 − exp(−d_ij / Σ_k d_jk),
    on it 1 − exp(−(α a_i)^β), ``area`` in m². n counts every unit, empty ones too. The
    matrix is built a block of rows at a time (about 100 MB at 5,000 units) and shared by
    every draw.
    """
    g, t, _ = _group_in_total(group, total)
    n_units = g.shape[-1]
    points, a, alpha, beta = _clustering_geometry(centroids, area, n_units, alpha, beta)
    batch = g.shape[:-1]
    # Contiguous copies: broadcast views (stride 0) would keep matmul off BLAS. A total
    # shared by every draw (shape (n_units,)) is multiplied by c once, not once per draw.
    x = np.ascontiguousarray(g.reshape(-1, n_units))
    shared_total = np.ndim(total) == 1
    t = np.ascontiguousarray(t[(0,) * len(batch)] if shared_total else t.reshape(-1, n_units))
    own, everyone, proximity_sum = np.zeros(len(x)), np.zeros(len(x)), 0.0
    for rows, block in _proximity_blocks(points, a, alpha, beta):
        own += (x[:, rows] * (x @ block.T)).sum(axis=-1)
        everyone += (x[:, rows] * (t @ block.T)).sum(axis=-1)
        proximity_sum += block.sum()
    members = x.sum(axis=-1)
    baseline = members / n_units**2 * proximity_sum
    numerator = _ratio(own, members) - baseline
    denominator = _ratio(everyone, members) - baseline
    value = _quotient(numerator, denominator).reshape(batch)
    return _finish(
        value,
        (members.reshape(batch) <= 0, f"group: {_NO_MEMBERS}"),
        (denominator.reshape(batch) == 0, _CLUSTERING_UNDEFINED),
    )


def relative_clustering(
    group: ArrayLike,
    other: ArrayLike,
    centroids: ArrayLike,
    area: ArrayLike,
    *,
    alpha: float = 0.6,
    beta: float = 0.5,
) -> Index:
    """Relative clustering RCL = P_xx / P_yy − 1, PySAL ``RelativeClustering`` (there
    other = total − group), with PySAL's P_xx = Σ_ij x_j² c_ij / X² (the squares of the
    group counts weight the column sums of c; Massey & Denton have x_i x_j) and P_yy
    likewise for ``other``. c as in :func:`absolute_clustering`; only its column sums are
    needed, computed once for all draws.
    """
    g, o = _group_and_other(group, other)
    n_units = g.shape[-1]
    points, a, alpha, beta = _clustering_geometry(centroids, area, n_units, alpha, beta)
    column_sums = np.zeros(n_units)
    for _, block in _proximity_blocks(points, a, alpha, beta):
        column_sums += block.sum(axis=0)
    members, others = g.sum(axis=-1), o.sum(axis=-1)
    own = _ratio((g * g * column_sums).sum(axis=-1), members**2)
    other_own = _ratio((o * o * column_sums).sum(axis=-1), others**2)
    value = _ratio(own, other_own) - 1
    return _finish(
        value,
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (others <= 0, _NO_OTHERS),
        (other_own <= 0, _OTHERS_UNCLUSTERED),
    )


# --------------------------------------------------------------------------------------------
# Every index over the proximity matrix, from one pass over it
# --------------------------------------------------------------------------------------------


def _precisions(g: Array, single_from: int | None) -> list[tuple[slice, type]]:
    """The batch positions (slices of the second-to-last axis) computed in double and in
    single precision."""
    if single_from is None:
        return [(slice(None), np.float64)]
    if g.ndim < 2 or not 0 <= single_from <= g.shape[-2]:
        raise ValueError(
            f"single_precision_from: {single_from} is not a position on the batch axis of "
            f"counts of shape {g.shape}"
        )
    parts = [(slice(0, single_from), np.float64), (slice(single_from, None), np.float32)]
    return [(batch, dtype) for batch, dtype in parts if batch.stop != batch.start]


class _ProductPart:
    """The batch positions ``batch`` of :func:`proximity_indices`'s counts, multiplied by c
    in ``dtype``: each block of c gives this part's sums over the block's units.

    ``derived`` names the count whose product with c is not taken but had from the others
    (c is linear): "universe" is group[k] + other[k] (k = ``pair``), "other" is universe −
    group. Each product is a dense pass over c for every draw: the race comparisons take 9
    per draw instead of 10 that way, the poverty comparisons 5 instead of 7."""

    def __init__(
        self,
        batch: slice,
        dtype: type,
        g: Array,
        o: Array,
        counts: list[Array],
        derived: str | None,
        pair: int | None,
    ):
        def take(values: Array) -> Array:  # counts shared by the whole batch stay whole
            return values[..., batch, :] if values.ndim >= 2 else values

        self.batch, self.dtype, self.derived, self.pair = batch, dtype, derived, pair
        self.g, self.o = take(g), take(o)
        n_units = g.shape[-1]
        self.multiplied = [
            (name, take(values).shape[:-1],
             np.ascontiguousarray(take(values).reshape(-1, n_units), dtype=dtype))
            for name, values in zip(("group", "other", "universe"), counts, strict=True)
            if name != derived
        ]  # fmt: skip

    def _shaped(self, product: Array, shape: tuple[int, ...]) -> Array:
        width = product.shape[-1]
        return np.broadcast_to(product.reshape(*shape, width), (*self.g.shape[:-1], width))

    def sums(self, rows: slice, ahead: Array, back: Array, column_sums: Array) -> dict:
        """Σ over the units in ``rows``, given c[rows, :] (``ahead``), c[:, rows]ᵀ (``back``)
        and c's column sums there."""
        ahead = ahead.astype(self.dtype, copy=False)
        products = {
            name: self._shaped(values @ ahead.T, shape) for name, shape, values in self.multiplied
        }
        cg = products["group"]
        if self.derived == "other":
            products["other"] = products["universe"] - cg
        elif self.derived == "universe":
            products["universe"] = cg[self.pair] + products["other"][self.pair]
        co, cu = products["other"], products["universe"]
        _, group_shape, flat_group = self.multiplied[0]
        ctg = self._shaped(flat_group @ back.astype(self.dtype, copy=False).T, group_shape)
        gb, ob = self.g[..., rows], self.o[..., rows]
        reach = cg + co  # c @ (group + other)
        return {  # each product summed at once, so one temporary is alive at a time
            "own": (gb * cg).sum(axis=-1),
            "other": (ob * co).sum(axis=-1),
            "pair": ((gb + ob) * reach).sum(axis=-1),
            "everyone": (gb * cu).sum(axis=-1),
            "isolation": (ctg * _ratio(gb, cu)).sum(axis=-1),
            "interaction": (ctg * _ratio(ob, reach)).sum(axis=-1),
            "own_squares": (gb * gb * column_sums).sum(axis=-1),
            "other_squares": (ob * ob * column_sums).sum(axis=-1),
        }


def proximity_indices(
    group: ArrayLike,
    other: ArrayLike,
    universe: ArrayLike,
    proximity: DecayProximity,
    *,
    single_precision_from: int | None = None,
    universe_from: int | None = None,
    others_are_rest: bool = False,
) -> dict[str, Index]:
    """The five indices over PySAL's proximity matrix c, from one pass over it:

    - ``distance_decay_isolation``: :func:`spatial.distance_decay_isolation` of the group in
      ``universe``;
    - ``distance_decay_interaction`` and ``spatial_proximity``: of the group with ``other``,
      within the pair (total = group + other), as :mod:`spatial` computes them;
    - ``absolute_clustering``: :func:`absolute_clustering` of the group in ``universe``;
    - ``relative_clustering``: :func:`relative_clustering` of the group and ``other``.

    ``proximity`` is the area's :func:`spatial.decay_proximity` with the clustering
    indices' α and β (its defaults are theirs). A large area's c is never held whole (see
    :class:`spatial.DecayProximity`); the indices need c @ group, c @ other, c @ universe,
    cᵀ @ group and c's column sums, which one pass over its blocks gives for every draw:
    Σ_i (x_i/X) Σ_j c_ij y_j / r_j = Σ_j (cᵀx)_j y_j / r_j, so the exposure indices need no
    second pass. A count shared by several groups (fewer leading axes: the universe, or a
    reference group common to them) is multiplied once. The values equal the functions
    named above to rounding; as in :func:`indices.single_group_indices`, a single set of
    counts raises if any index is undefined, a batch gives NaN there.

    ``single_precision_from``: the position on the batch axis (second to last) from which
    the products with c are taken in single precision, at about twice the speed: for Monte
    Carlo draws, whose values move by about 10⁻⁵ of their spread that way
    (``tests/test_geometric.py`` measures it). The positions before it (the published
    counts) and every sum stay in double precision.

    When the counts are sums of one another, say so and one product fewer per draw is
    taken (c is linear; the values move only by rounding):

    - ``universe_from=k``: the universe is group[k] + other[k] (k on the first axis of
      ``group``), e.g. the total population of the non-white and white comparison;
    - ``others_are_rest``: each other is the universe less its group (below and above
      the poverty line in the poverty universe).
    """
    if not isinstance(proximity, DecayProximity):
        raise ValueError(
            f"proximity: expected a DecayProximity (from decay_proximity), got "
            f"{type(proximity).__name__}"
        )
    g, o, _ = _group_and_other(group, other, universe)
    n_units = g.shape[-1]
    if n_units != proximity.n_units:
        raise ValueError(f"group: {n_units} units, but the proximity is for {proximity.n_units}")
    if n_units > 1 and (proximity.column_sums <= 0).any():
        raise ValueError("centroids: every unit has the same centroid")
    derived = _derived_count(g, universe_from, others_are_rest)
    # Each count is multiplied in its own shape: one shared by several groups (fewer leading
    # axes, e.g. the universe, or a reference group common to them) only once. Every sum over
    # units is taken a block of units at a time, so only one block of each product is ever
    # alive and a whole batch of draws shares one pass over c.
    counts = [np.asarray(values, dtype=np.float64) for values in (group, other, universe)]
    parts = [
        _ProductPart(batch, dtype, g, o, counts, derived, universe_from)
        for batch, dtype in _precisions(g, single_precision_from)
    ]
    sums: dict[str, Array] = {}
    proximity_sum = 0.0
    # Blocks of units narrow enough that a product over the whole batch stays small.
    max_rows = max(1, _PRODUCT_ELEMENTS // max(1, g.size // n_units))
    for rows, ahead, back in proximity.row_and_column_blocks(max_rows):
        column_sums = back.sum(axis=1)
        proximity_sum += column_sums.sum()
        for part in parts:
            for name, values in part.sums(rows, ahead, back, column_sums).items():
                sums.setdefault(name, np.zeros(g.shape[:-1]))[..., part.batch] += values
    return _proximity_values(g, o, sums, n_units, proximity_sum)


def _derived_count(g: Array, universe_from: int | None, others_are_rest: bool) -> str | None:
    if universe_from is not None and others_are_rest:
        raise ValueError("universe_from, others_are_rest: give one or neither")
    if others_are_rest:
        return "other"
    if universe_from is None:
        return None
    if g.ndim < 2 or not 0 <= universe_from < g.shape[0]:
        raise ValueError(
            f"universe_from: {universe_from} is not a comparison of counts of shape {g.shape}"
        )
    return "universe"


def _proximity_values(
    g: Array, o: Array, sums: dict[str, Array], n_units: int, proximity_sum: float
) -> dict[str, Index]:
    """The five indices of :func:`proximity_indices` from its sums over units."""
    members, others = g.sum(axis=-1), o.sum(axis=-1)
    own_form, other_form, pair_form = sums["own"], sums["other"], sums["pair"]
    baseline = members / n_units**2 * proximity_sum
    cluster_numerator = _ratio(own_form, members) - baseline
    cluster_denominator = _ratio(sums["everyone"], members) - baseline
    own_squares = _ratio(sums["own_squares"], members**2)
    other_squares = _ratio(sums["other_squares"], others**2)

    no_members = (members <= 0, f"group: {_NO_MEMBERS}")
    no_others = (others <= 0, _NO_OTHERS)
    return {
        "distance_decay_isolation": _finish(_ratio(sums["isolation"], members), no_members),
        "distance_decay_interaction": _finish(_ratio(sums["interaction"], members), no_members),
        "spatial_proximity": _finish(
            _ratio(
                _ratio(own_form, members) + _ratio(other_form, others),
                _ratio(pair_form, members + others),
            ),
            no_members,
            no_others,
        ),
        "absolute_clustering": _finish(
            _quotient(cluster_numerator, cluster_denominator),
            no_members,
            (cluster_denominator == 0, _CLUSTERING_UNDEFINED),
        ),
        "relative_clustering": _finish(
            _ratio(own_squares, other_squares) - 1,
            no_members,
            no_others,
            (other_squares <= 0, _OTHERS_UNCLUSTERED),
        ),
    }
