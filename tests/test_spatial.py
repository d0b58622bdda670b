"""Tests for housing_segregation.spatial: egohood (kernel) and distance-decay indices.

Three layers of evidence, as in tests/test_indices.py:
- tiny synthetic fixtures on a line, worked out by hand in comments;
- PySAL ``segregation`` 2.5.4 / ``libpysal`` 4.14.1 as the oracle (to 1e-9) on random
  square polygons in EPSG:5070, Sacramento (EPSG:3310) and a Connecticut county of the real
  2023 tract table, plus one value published in PySAL's own tests;
- batches: each row of (draws, n_units) equals the 1-d call on that row.
"""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse
import shapely
from libpysal.weights import Kernel
from libpysal.weights.util import fill_diagonal
from scipy.spatial.distance import cdist
from segregation.dynamics import compute_multiscalar_profile
from segregation.multigroup import MultiDissim, MultiInfoTheory
from segregation.singlegroup import (
    Dissim,
    DistanceDecayInteraction,
    DistanceDecayIsolation,
    Entropy,
    SpatialProximity,
)
from segregation.singlegroup.spatial_proximity import _spatial_proximity
from segregation.util import generate_distance_matrix

from housing_segregation.indices import dissimilarity, entropy
from housing_segregation.spatial import (
    KERNEL_FUNCTIONS,
    DecayProximity,
    decay_proximity,
    distance_decay_interaction,
    distance_decay_isolation,
    egohood_dissimilarity,
    egohood_entropy,
    egohood_indices,
    egohood_multigroup_dissimilarity,
    egohood_multigroup_entropy,
    kernel_weights,
    multiscalar_profile,
    packed_weights,
    smooth,
    spatial_proximity,
)

#: Oracle tolerance (absolute): every index is in [0, ~1].
TOLERANCE = 1e-9

#: (ours, PySAL class) for the egohood indices of (group, total, weights).
EGOHOOD_INDICES = {
    "dissimilarity": (egohood_dissimilarity, Dissim),
    "entropy": (egohood_entropy, Entropy),
}
#: (ours, PySAL class) for the multigroup egohood indices of (counts, weights).
MULTIGROUP_EGOHOOD_INDICES = {
    "multigroup_dissimilarity": (egohood_multigroup_dissimilarity, MultiDissim),
    "multigroup_entropy": (egohood_multigroup_entropy, MultiInfoTheory),
}
#: (ours, PySAL class) for the distance-decay indices of (group, total, proximity).
DECAY_INDICES = {
    "distance_decay_isolation": (distance_decay_isolation, DistanceDecayIsolation),
    "distance_decay_interaction": (distance_decay_interaction, DistanceDecayInteraction),
    "spatial_proximity": (spatial_proximity, SpatialProximity),
}


# --------------------------------------------------------------------------------------------
# PySAL helpers
# --------------------------------------------------------------------------------------------


def centroids(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Unit centroids, (n, 2): the points PySAL's kernels and decay matrices use."""
    points = frame.geometry.centroid
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


def pysal(index_class, frame: gpd.GeoDataFrame, *args, **kwargs) -> float:
    """A PySAL statistic, its warnings (geographic CRS, islands, 0/0) silenced."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        return float(index_class(frame, *args, **kwargs).statistic)


def pysal_kernel(frame: gpd.GeoDataFrame, distance: float, function: str) -> np.ndarray:
    """The dense egohood matrix PySAL builds in ``_build_local_environment``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = Kernel.from_dataframe(frame.reset_index(), bandwidth=distance, function=function)
        return fill_diagonal(w).sparse.toarray()


def pysal_decay_matrix(frame: gpd.GeoDataFrame, alpha=0.6, beta=0.5) -> np.ndarray:
    """c = 1 − exp(−D/D.sum(axis=1)), diagonal 1 − exp(−(α a)^β): the lines shared by
    PySAL's DistanceDecayIsolation, DistanceDecayInteraction and SpatialProximity."""
    dist = generate_distance_matrix(frame)
    np.fill_diagonal(dist, val=np.exp(-((alpha * frame.area.to_numpy()) ** beta)))
    return 1 - dist


def assert_matches_pysal(frame, group: str, total: str, groups: list[str], distances) -> None:
    """Every index of this module against PySAL on one GeoDataFrame, to 1e-9."""
    g = frame[group].to_numpy(np.float64)
    t = frame[total].to_numpy(np.float64)
    table = frame[groups].to_numpy(np.float64)
    points = centroids(frame)
    for distance in distances:
        weights = kernel_weights(points, distance)
        for name, (ours, theirs) in EGOHOOD_INDICES.items():
            expected = pysal(theirs, frame, group, total, distance=distance)
            assert ours(g, t, weights) == pytest.approx(expected, rel=0, abs=TOLERANCE), name
        for name, (ours, theirs) in MULTIGROUP_EGOHOOD_INDICES.items():
            expected = pysal(theirs, frame, groups, distance=distance)
            assert ours(table, weights) == pytest.approx(expected, rel=0, abs=TOLERANCE), name
    proximity = decay_proximity(points, frame.area.to_numpy())
    for name, (ours, theirs) in DECAY_INDICES.items():
        expected = pysal(theirs, frame, group, total)
        assert ours(g, t, proximity) == pytest.approx(expected, rel=0, abs=TOLERANCE), name


def assert_profile_matches_pysal(frame, group: str, total: str, distances) -> None:
    g = frame[group].to_numpy(np.float64)
    t = frame[total].to_numpy(np.float64)
    for index, index_class in (("dissimilarity", Dissim), ("entropy", Entropy)):
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            expected = compute_multiscalar_profile(
                frame,
                segregation_index=index_class,
                group_pop_var=group,
                total_pop_var=total,
                distances=distances,
            )
        ours = multiscalar_profile(g, t, centroids(frame), distances, index=index)
        assert list(ours) == [0.0, *map(float, distances)]
        assert list(expected.index) == [0, *distances]
        np.testing.assert_allclose(list(ours.values()), expected.to_numpy(), rtol=0, atol=1e-9)


# --------------------------------------------------------------------------------------------
# Hand-computed synthetic fixtures
# --------------------------------------------------------------------------------------------

#: Synthetic: four centroids on a line at x = 0, 250, 1000 and 3000 m. At a 1,000 m bandwidth
#: the pairs within reach are 0–1 (250 m, z = 0.25), 1–2 (750 m, z = 0.75) and 0–2 (1000 m,
#: z = 1, on the boundary); unit 3 is 2 km from everything (an egohood of itself).
LINE = np.array([[0.0, 0.0], [250.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]])


def test_kernel_weights_hand_computed_triangular():
    # Triangular K(z) = 1 − z: 0–1 → 0.75, 1–2 → 0.25, 0–2 → 0 (in the closed ball, weight
    # 0, not stored); every unit weighs itself 1.
    weights = kernel_weights(LINE, 1000)
    assert isinstance(weights, scipy.sparse.csr_matrix)
    expected = np.array(
        [
            [1.0, 0.75, 0.0, 0.0],
            [0.75, 1.0, 0.25, 0.0],
            [0.0, 0.25, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(weights.toarray(), expected, rtol=0, atol=1e-15)
    assert weights.nnz == 8  # 4 diagonal + 2 pairs × 2 directions


def test_kernel_weights_hand_computed_other_functions():
    # z = 0.25 (0–1), 0.75 (1–2), 1 (0–2), diagonal 1 whatever K(0) is:
    # quadratic ¾(1 − z²): 45/64, 21/64, 0;  quartic 15/16 (1 − z²)²: 3375/4096, 735/4096, 0;
    # uniform ½ for every pair in the closed ball, the boundary pair 0–2 included;
    # gaussian (2π)^−½ e^(−z²/2): c e^(−1/32), c e^(−9/32), c e^(−1/2), c = 1/√(2π).
    c = 1 / np.sqrt(2 * np.pi)
    pairs = {
        "quadratic": (45 / 64, 21 / 64, 0.0),
        "quartic": (3375 / 4096, 735 / 4096, 0.0),
        "uniform": (0.5, 0.5, 0.5),
        "gaussian": (c * np.exp(-1 / 32), c * np.exp(-9 / 32), c * np.exp(-1 / 2)),
    }
    for function, (w01, w12, w02) in pairs.items():
        expected = np.array(
            [[1, w01, w02, 0], [w01, 1, w12, 0], [w02, w12, 1, 0], [0, 0, 0, 1]], dtype=float
        )
        weights = kernel_weights(LINE, 1000, function)
        np.testing.assert_allclose(
            weights.toarray(), expected, rtol=1e-15, atol=0, err_msg=function
        )


def test_kernel_weights_at_distance_zero_are_the_identity():
    # No unit is within 0 m of another: no smoothing, the aspatial index (PySAL: distance=0
    # is falsy, so Dissim(…, distance=0) is the aspatial Dissim).
    assert (kernel_weights(LINE, 0).toarray() == np.eye(4)).all()
    g, t = np.array([4.0, 8, 4, 0]), np.array([8.0, 16, 20, 12])
    assert egohood_dissimilarity(g, t, kernel_weights(LINE, 0)) == pytest.approx(
        dissimilarity(g, t - g), abs=1e-15
    )


def test_coincident_centroids_weigh_each_other_fully():
    # Synthetic: units 0 and 1 share a centroid (d = 0, z = 0 → K = 1 for triangular).
    points = np.array([[0.0, 0.0], [0.0, 0.0], [500.0, 0.0]])
    expected = np.array([[1, 1, 0.5], [1, 1, 0.5], [0.5, 0.5, 1]])
    np.testing.assert_allclose(kernel_weights(points, 1000).toarray(), expected, atol=1e-15)


def test_egohood_dissimilarity_hand_computed():
    # Synthetic, on LINE at 1,000 m (weights above): g = 4, 8, 4, 0; t = 8, 16, 20, 12.
    # Egohood group  W g = 4 + .75·8 = 10;  .75·4 + 8 + .25·4 = 12;  .25·8 + 4 = 6;  0.
    # Egohood total  W t = 8 + .75·16 = 20; .75·8 + 16 + .25·20 = 27; .25·16 + 20 = 24; 12.
    # Others = 10, 15, 18, 12; G = 28, O = 55. Over 1540 = 28·55:
    # |g/G − o/O| = |550 − 280|, |660 − 420|, |330 − 504|, |0 − 336| = 270, 240, 174, 336.
    # D = ½ · 1020/1540 = 51/154 ≈ 0.3311688 (whole sums, so rounding changes nothing).
    g, t = np.array([4.0, 8, 4, 0]), np.array([8.0, 16, 20, 12])
    weights = kernel_weights(LINE, 1000)
    np.testing.assert_allclose(smooth(g, weights), [10, 12, 6, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(smooth(t, weights), [20, 27, 24, 12], rtol=0, atol=1e-12)
    assert egohood_dissimilarity(g, t, weights) == pytest.approx(51 / 154, abs=1e-15)
    assert egohood_dissimilarity(g, t, weights, rounded=False) == pytest.approx(51 / 154)
    assert egohood_entropy(g, t, weights) == pytest.approx(
        entropy([10, 12, 6, 0], [20, 27, 24, 12]), abs=1e-15
    )


def test_egohood_dissimilarity_hand_fixture_matches_pysal():
    frame = gpd.GeoDataFrame(
        {"g": [4, 8, 4, 0], "t": [8, 16, 20, 12]},
        geometry=gpd.points_from_xy(LINE[:, 0], LINE[:, 1]),
        crs="EPSG:5070",
    )
    assert pysal(Dissim, frame, "g", "t", distance=1000) == pytest.approx(51 / 154, abs=1e-15)
    assert pysal(Entropy, frame, "g", "t", distance=1000) == pytest.approx(
        egohood_entropy(frame["g"], frame["t"], kernel_weights(LINE, 1000)), abs=1e-15
    )


def test_egohood_sums_are_rounded_to_whole_persons_like_pysal():
    # Synthetic: g = 1, 0, 0, 0 on LINE: W g = 1, 0.75, 0, 0, rounded (half to even) 1, 1, 0, 0.
    g, t = np.array([1.0, 0, 0, 0]), np.array([3.0, 2, 5, 4])
    weights = kernel_weights(LINE, 1000)
    # W t = 3 + 1.5 = 4.5 → 4 (half to even); .75·3 + 2 + .25·5 = 5.5 → 6; .5 + 5 = 5.5 → 6; 4.
    # Rounded: g = 1, 1, 0, 0 and o = 3, 5, 6, 4 (G = 2, O = 18):
    # D = ½(|1/2 − 3/18| + |1/2 − 5/18| + 6/18 + 4/18) = ½(6/18 + 4/18 + 10/18) = 5/9.
    assert egohood_dissimilarity(g, t, weights) == pytest.approx(5 / 9, abs=1e-15)
    # Unrounded: g = 1, .75, 0, 0 and o = 3.5, 4.75, 5.5, 4 (G = 1.75, O = 17.75).
    unrounded = dissimilarity([1, 0.75, 0, 0], [3.5, 4.75, 5.5, 4])
    assert egohood_dissimilarity(g, t, weights, rounded=False) == pytest.approx(unrounded)
    frame = gpd.GeoDataFrame(
        {"g": g, "t": t}, geometry=gpd.points_from_xy(LINE[:, 0], LINE[:, 1]), crs="EPSG:5070"
    )
    assert pysal(Dissim, frame, "g", "t", distance=1000) == pytest.approx(5 / 9, abs=1e-15)


def test_decay_proximity_hand_computed():
    # Synthetic: centroids at x = 0, 3, 4 m; areas 15, 60, 0 m²; α = 0.6, β = 0.5.
    # Distance sums s = 3 + 4 = 7, 3 + 1 = 4, 4 + 1 = 5; c_ij = 1 − exp(−d_ij / s_j) (column
    # j's sum: PySAL's broadcasting); diagonal 1 − exp(−(0.6 a)^½) = 1 − e^−3, 1 − e^−6, 0.
    points = np.array([[0.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    proximity = decay_proximity(points, [15.0, 60.0, 0.0])
    e = np.exp
    expected = 1 - np.array(
        [
            [e(-3.0), e(-3 / 4), e(-4 / 5)],
            [e(-3 / 7), e(-6.0), e(-1 / 5)],
            [e(-4 / 7), e(-1 / 4), 1.0],
        ]
    )
    np.testing.assert_allclose(proximity.column_sums, [7, 4, 5], rtol=1e-15)
    np.testing.assert_allclose(proximity.toarray(), expected, rtol=1e-14, atol=0)
    # The indices, written out from PySAL's lines with this c and g = 2, 1, 3, t = 4, 5, 3:
    # P_ij = c_ij t_j / r_j with r_j = Σ_k c_jk t_k; xPx = Σ_i (g_i/G) Σ_j P_ij g_j/t_j.
    g, t = np.array([2.0, 1, 3]), np.array([4.0, 5, 3])
    r = expected @ t
    share = expected * t / r  # divides column j by r_j
    assert distance_decay_isolation(g, t, proximity) == pytest.approx(
        float(((g / g.sum()) * (share * (g / t)).sum(axis=1)).sum()), rel=1e-14
    )
    y = t - g
    assert distance_decay_interaction(g, t, proximity) == pytest.approx(
        float(((g / g.sum()) * (share * (y / t)).sum(axis=1)).sum()), rel=1e-14
    )
    # SP = (g'cg/G + y'cy/Y) / (t'ct/T)
    assert spatial_proximity(g, t, proximity) == pytest.approx(
        (g @ expected @ g / g.sum() + y @ expected @ y / y.sum()) / (t @ expected @ t / t.sum()),
        rel=1e-14,
    )


# --------------------------------------------------------------------------------------------
# Empty units and invalid input
# --------------------------------------------------------------------------------------------


def test_an_isolated_empty_unit_changes_nothing():
    # Synthetic: LINE with an empty unit 50 km away (its egohood is itself: total 0).
    g, t = np.array([4.0, 8, 4, 0]), np.array([8.0, 16, 20, 12])
    far = np.vstack([LINE, [[50_000.0, 0.0]]])
    g_far, t_far = np.append(g, 0.0), np.append(t, 0.0)
    for distance in (1000, 2500):
        weights, weights_far = kernel_weights(LINE, distance), kernel_weights(far, distance)
        for name, (ours, _) in EGOHOOD_INDICES.items():
            value = ours(g_far, t_far, weights_far)
            assert np.isfinite(value), name
            assert value == pytest.approx(ours(g, t, weights), rel=1e-14), name
        table, table_far = np.column_stack([g, t - g]), np.column_stack([g_far, t_far - g_far])
        for name, (ours, _) in MULTIGROUP_EGOHOOD_INDICES.items():
            assert ours(table_far, weights_far) == pytest.approx(ours(table, weights)), name
    # Distance decay: the empty unit still enters the distance sums s_j (as in PySAL), so
    # values move, but nothing is 0/0.
    proximity = decay_proximity(far, np.full(5, 1e4))
    for name, (ours, _) in DECAY_INDICES.items():
        assert np.isfinite(ours(g_far, t_far, proximity)), name


@pytest.mark.parametrize(
    ("points", "pattern"),
    [
        (np.zeros((3, 3)), "points: expected an array of shape"),
        (np.zeros(4), "points: expected an array of shape"),
        (np.zeros((0, 2)), "points: no units"),
        (np.array([[0.0, np.nan]]), "points: contains missing"),
    ],
)
def test_kernel_weights_rejects_bad_points(points, pattern):
    with pytest.raises(ValueError, match=pattern):
        kernel_weights(points, 1000)


@pytest.mark.parametrize("distance", [-1, -0.5, float("nan"), float("inf"), "1000", True, None])
def test_kernel_weights_rejects_bad_distances(distance):
    with pytest.raises(ValueError, match="distance: "):
        kernel_weights(LINE, distance)


@pytest.mark.parametrize("function", ["epanechnikov", "Triangular", "boxcar", None])
def test_kernel_weights_rejects_unknown_functions(function):
    with pytest.raises(ValueError, match="function: expected one of"):
        kernel_weights(LINE, 1000, function)


def test_index_inputs_are_checked():
    weights = kernel_weights(LINE, 1000)
    g, t = np.array([4.0, 8, 4, 0]), np.array([8.0, 16, 20, 12])
    with pytest.raises(ValueError, match="group: 3 units, but the weights are for 4"):
        egohood_dissimilarity(g[:3], t, weights)
    with pytest.raises(ValueError, match="group: exceeds total"):
        egohood_entropy(t, g, weights)
    with pytest.raises(ValueError, match="total: contains negative"):
        egohood_dissimilarity(g, -t, weights)
    with pytest.raises(ValueError, match="group: contains missing"):
        egohood_dissimilarity(np.array([np.nan, 1, 1, 1]), t, weights)
    with pytest.raises(ValueError, match="weights: expected an"):
        egohood_dissimilarity(g, t, np.ones((4, 3)))
    with pytest.raises(ValueError, match="weights: entries must be"):
        egohood_dissimilarity(g, t, -weights)
    with pytest.raises(ValueError, match="group and total: leading"):
        egohood_dissimilarity(np.ones((2, 4)), np.ones((3, 4)), weights)
    with pytest.raises(ValueError, match="group: the group has no members"):
        egohood_dissimilarity(np.zeros(4), t, weights)
    with pytest.raises(ValueError, match="total: nobody outside the group"):
        egohood_entropy(t, t, weights)
    with pytest.raises(ValueError, match="counts: 4 units, but the weights are for 5"):
        egohood_multigroup_dissimilarity(np.ones((4, 2)), kernel_weights(np.zeros((5, 2)), 1))
    with pytest.raises(ValueError, match="counts: expected an array of shape"):
        egohood_multigroup_entropy(g, weights)
    with pytest.raises(ValueError, match="counts: 4 units along axis 0"):
        smooth(np.ones((4, 3)), kernel_weights(np.zeros((3, 2)), 1), axis=0)
    with pytest.raises(ValueError, match="axis: 2 is out of range"):
        smooth(g, weights, axis=2)


def test_decay_inputs_are_checked():
    with pytest.raises(ValueError, match="areas: expected one area per point"):
        decay_proximity(LINE, [1.0, 2.0])
    with pytest.raises(ValueError, match="areas: must be finite and non-negative"):
        decay_proximity(LINE, [1.0, 2.0, -3.0, 4.0])
    with pytest.raises(ValueError, match="alpha: must not be negative"):
        decay_proximity(LINE, np.ones(4), alpha=-0.6)
    with pytest.raises(ValueError, match="beta: expected a finite number"):
        decay_proximity(LINE, np.ones(4), beta=float("nan"))
    with pytest.raises(ValueError, match="points: expected an array of shape"):
        decay_proximity(LINE[:, :1], np.ones(4))
    with pytest.raises(ValueError, match="proximity: expected a DecayProximity"):
        spatial_proximity(np.ones(4), np.ones(4), kernel_weights(LINE, 1000))
    proximity = decay_proximity(LINE, np.ones(4))
    with pytest.raises(ValueError, match="group: the group has no members"):
        distance_decay_isolation(np.zeros(4), np.ones(4), proximity)
    with pytest.raises(ValueError, match="total: nobody outside the group"):
        spatial_proximity(np.ones(4), np.ones(4), proximity)


def test_profile_inputs_are_checked():
    g, t = np.array([4.0, 8, 4, 0]), np.array([8.0, 16, 20, 12])
    with pytest.raises(ValueError, match="index: expected one of"):
        multiscalar_profile(g, t, LINE, [1000], index="gini")
    with pytest.raises(ValueError, match="distances: must not be negative"):
        multiscalar_profile(g, t, LINE, [1000, -500])
    with pytest.raises(ValueError, match="distances: expected an iterable"):
        multiscalar_profile(g, t, LINE, 1000)
    with pytest.raises(ValueError, match="function: expected one of"):
        multiscalar_profile(g, t, LINE, [1000], function="cosine")
    with pytest.raises(ValueError, match="points: expected an array of shape"):
        multiscalar_profile(g, t, LINE.T, [1000])


# --------------------------------------------------------------------------------------------
# Batches: leading axes are draws
# --------------------------------------------------------------------------------------------


def random_table(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Synthetic counts (..., units, 4 groups) with an empty unit (0), a unit without group 0
    (1) and a unit of group 0 only (2)."""
    *batch, n_units, n_groups = shape
    size = rng.integers(0, 3_000, (*batch, n_units, 1))
    mix = rng.dirichlet(np.linspace(0.4, 2.0, n_groups), size=(*batch, n_units))
    table = rng.poisson(size * mix).astype(np.float64)
    table[..., 0, :] = 0
    table[..., 1, 0] = 0
    table[..., 2, 1:] = 0
    return table


def random_points(rng: np.random.Generator, n_units: int) -> np.ndarray:
    """Synthetic centroids in a 15 km square (EPSG:5070 metres, near Connecticut)."""
    return rng.uniform(0, 15_000, (n_units, 2)) + np.array([1_900_000.0, 2_300_000.0])


def assert_row_matches(value, single) -> None:
    try:
        expected = single()
    except ValueError:
        assert np.isnan(value)
    else:
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("rounded", [True, False])
def test_batch_rows_equal_single_calls(rounded):
    rng = np.random.default_rng(4)
    table = random_table(rng, (6, 150, 4))
    group, total = table[..., 0], table.sum(axis=-1)
    group[1] = 0  # draw 1: the group has no members → NaN
    group[2] = total[2]  # draw 2: nobody outside the group → NaN (isolation is defined)
    points = random_points(rng, 150)
    weights = kernel_weights(points, 2000)
    proximity = decay_proximity(points, rng.uniform(1e5, 1e6, 150))
    singles = {
        **{
            name: lambda g, t, f=ours: f(g, t, weights, rounded=rounded)
            for name, (ours, _) in EGOHOOD_INDICES.items()
        },
        **{
            name: lambda g, t, f=ours: f(g, t, proximity)
            for name, (ours, _) in DECAY_INDICES.items()
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined draws give NaN silently
        for name, function in singles.items():
            batch = function(group, total)
            assert batch.shape == (6,), name
            for row in range(6):
                assert_row_matches(batch[row], lambda f=function, r=row: f(group[r], total[r]))
            assert np.isnan(batch[1]), name
            assert np.isfinite(batch[[0, 3, 4, 5]]).all(), name
            cube = function(group.reshape(2, 3, -1), total.reshape(2, 3, -1))
            assert cube.shape == (2, 3), name
            np.testing.assert_allclose(cube.reshape(-1), batch, rtol=1e-14, equal_nan=True)
        # A fixed total (n,) broadcasts against group draws (draws, n).
        fixed = egohood_dissimilarity(np.minimum(group, total[0]), total[0], weights)
        assert fixed.shape == (6,)
        table[1] = 0  # draw 1: nobody at all
        for name, (ours, _) in MULTIGROUP_EGOHOOD_INDICES.items():
            batch = ours(table, weights, rounded=rounded)
            assert batch.shape == (6,), name
            for row in range(6):
                assert_row_matches(
                    batch[row], lambda f=ours, r=row: f(table[r], weights, rounded=rounded)
                )
            assert np.isnan(batch[1]) and np.isfinite(batch[[0, 2, 3, 4, 5]]).all(), name


def test_smooth_is_one_product_over_any_leading_axes():
    rng = np.random.default_rng(5)
    weights = kernel_weights(random_points(rng, 80), 3000)
    counts = rng.poisson(200, (3, 4, 80)).astype(np.float64)
    summed = smooth(counts, weights)
    assert summed.shape == counts.shape
    for index in np.ndindex(3, 4):
        np.testing.assert_allclose(summed[index], weights @ counts[index], rtol=1e-14)
    table = np.moveaxis(counts, -1, -2)  # (3, 80, 4): units on axis -2
    np.testing.assert_allclose(smooth(table, weights, axis=-2), np.moveaxis(summed, -1, -2))
    # Dense weights give the same sums.
    np.testing.assert_allclose(smooth(counts, weights.toarray()), summed, rtol=1e-14)


def test_profile_of_a_batch():
    rng = np.random.default_rng(6)
    table = random_table(rng, (4, 120, 2))
    group, total = table[..., 0], table.sum(axis=-1)
    points = random_points(rng, 120)
    profile = multiscalar_profile(group, total, points, [1000, 3000], index="entropy")
    assert list(profile) == [0.0, 1000.0, 3000.0]
    for row in range(4):
        single = multiscalar_profile(group[row], total[row], points, [1000, 3000], index="entropy")
        for distance, value in single.items():
            assert profile[distance][row] == pytest.approx(value, rel=1e-12)


# --------------------------------------------------------------------------------------------
# PySAL as the oracle: random square polygons in EPSG:5070
# --------------------------------------------------------------------------------------------


def random_frame(seed: int, n_units: int = 200) -> gpd.GeoDataFrame:
    """Synthetic: square tracts (200–1,200 m a side) scattered over 15 km in EPSG:5070, with
    four groups (columns k0–k3, total t, focal group g = k0), an empty unit, a unit without
    the group, one of the group only, and an empty unit 60 km away from the rest."""
    rng = np.random.default_rng(seed)
    table = random_table(rng, (n_units, 4))
    centres = random_points(rng, n_units)
    centres[3] += 60_000
    table[3] = 0
    half = rng.uniform(100, 600, n_units)
    squares = shapely.box(*(centres - half[:, None]).T, *(centres + half[:, None]).T)
    columns = {f"k{k}": table[:, k] for k in range(4)}
    return gpd.GeoDataFrame(
        {**columns, "g": table[:, 0], "t": table.sum(axis=1)}, geometry=squares, crs="EPSG:5070"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_indices_match_pysal_on_random_squares(seed):
    frame = random_frame(seed)
    assert_matches_pysal(frame, "g", "t", ["k0", "k1", "k2", "k3"], distances=[800, 2000, 5000])


@pytest.mark.parametrize("function", KERNEL_FUNCTIONS)
def test_kernel_weights_match_libpysal_kernel(function):
    frame = random_frame(7)
    points = centroids(frame)
    for distance in (900, 2500):
        expected = pysal_kernel(frame, distance, function)
        ours = kernel_weights(points, distance, function).toarray()
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12, err_msg=function)
    # Egohood indices for a non-default kernel match PySAL's function= too.
    g, t = frame["g"].to_numpy(), frame["t"].to_numpy()
    weights = kernel_weights(points, 2500, function)
    expected = pysal(Dissim, frame, "g", "t", distance=2500, function=function)
    assert egohood_dissimilarity(g, t, weights) == pytest.approx(expected, abs=TOLERANCE)


def test_decay_proximity_matches_pysal_matrix():
    frame = random_frame(8)
    proximity = decay_proximity(centroids(frame), frame.area.to_numpy())
    expected = pysal_decay_matrix(frame)
    # PySAL's distances come from sklearn's |x|² − 2x·y + |y|², which on coordinates of ~2e6 m
    # errs by ~1e-3 m² in d²: up to ~1e-7 relative on the closest pairs, whose c is ~1e-4,
    # so ~1e-11 absolute. Ours are exact differences (checked against scipy's cdist).
    assert np.abs(proximity.toarray() - expected).max() < 1e-10
    exact = 1 - np.exp(-cdist(proximity.points, proximity.points) / proximity.column_sums)
    off_diagonal = ~np.eye(len(frame), dtype=bool)
    np.testing.assert_allclose(
        proximity.toarray()[off_diagonal], exact[off_diagonal], rtol=1e-12, atol=0
    )
    # Not symmetric: column j is scaled by unit j's distance sum.
    assert not np.allclose(expected, expected.T)


def test_decay_proximity_blocks_cover_every_row_once():
    rng = np.random.default_rng(9)
    points = random_points(rng, 50)
    whole = decay_proximity(points, np.full(50, 1e5))
    blocked = DecayProximity(
        points=whole.points,
        self_proximity=whole.self_proximity,
        column_sums=whole.column_sums,
        block_rows=7,  # 8 blocks, the last of one row
    )
    np.testing.assert_allclose(blocked.toarray(), whole.toarray(), rtol=0, atol=0)
    values = rng.poisson(100, (3, 50)).astype(np.float64)
    np.testing.assert_allclose(blocked.dot(values), values @ whole.toarray().T, rtol=1e-13)


def test_profile_matches_pysal_on_random_squares():
    assert_profile_matches_pysal(random_frame(10), "g", "t", [700, 1500, 4000])


# --------------------------------------------------------------------------------------------
# Sacramento
# --------------------------------------------------------------------------------------------

SACRAMENTO_GROUPS = ["WHITE_", "BLACK_", "ASIAN_", "HISP_", "REST"]


@pytest.fixture(scope="module")
def sacramento(shared_data):
    """Sacramento's 403 tracts in California Albers (metres), with a rest-of-total column."""
    tracts = gpd.read_file(shared_data / "sacramento" / "sacramento1.geojson")
    assert len(tracts) == 403
    tracts["REST"] = tracts["TOT_POP"] - tracts[SACRAMENTO_GROUPS[:4]].sum(axis=1)
    assert (tracts["REST"] >= 0).all()
    return tracts


def test_sacramento_matches_pysal(sacramento):
    frame = sacramento.to_crs("EPSG:3310")
    assert_matches_pysal(frame, "HISP_", "TOT_POP", SACRAMENTO_GROUPS, distances=[1000, 2000])
    assert_profile_matches_pysal(frame, "HISP_", "TOT_POP", [1000, 2000, 5000])


def test_sacramento_distance_decay_isolation_matches_pysal_published_value(sacramento):
    # pysal/segregation segregation/tests/test_distance_decay_isolation.py: Sacramento1 (HISP)
    # in df.estimate_utm_crs() (UTM zone 10N) gives 0.20144710843904595.
    frame = sacramento.to_crs("EPSG:32610")
    assert sacramento.estimate_utm_crs().to_epsg() == 32610
    proximity = decay_proximity(centroids(frame), frame.area.to_numpy())
    value = distance_decay_isolation(frame["HISP_"], frame["TOT_POP"], proximity)
    assert value == pytest.approx(0.20144710843904595, rel=0, abs=1e-12)


def test_sacramento_old_api_values_are_not_pysal_2_5_4(sacramento, shared_data):
    """The reference file's ComputeAllSpatialSegregation list has no names. Two entries can be
    named with certainty, because PySAL's tests of that era assert the same digits on the same
    data: 0.83965834 (DistanceDecayExposure, test_distance_decay_exposure.py) and 1.00266235
    (SpatialProximity, test_spatial_proximity.py). Both were computed on unprojected lon/lat
    with an older decay matrix: PySAL 2.5.4 refuses a geographic CRS, and its formula (ours)
    on the same lon/lat coordinates gives other values, so they are not oracles here."""
    reference = json.loads(
        (shared_data / "sacramento" / "reference_values_pysal_segregation.json").read_text()
    )
    old = reference["ComputeAllSpatialSegregation_values_old_api"]
    assert old[8] == 0.83965834 and old[11] == 1.00266235
    frame = sacramento[["HISP_", "TOT_POP", "geometry"]]
    assert frame.crs.is_geographic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # centroid and area in degrees, on purpose
        proximity = decay_proximity(centroids(frame), frame.area.to_numpy())
    g, t = frame["HISP_"], frame["TOT_POP"]
    # PySAL 2.5.4's own lines on the lon/lat numbers (the CRS label overridden, not reprojected):
    relabelled = frame.set_crs("EPSG:3310", allow_override=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = float(_spatial_proximity(relabelled, "HISP_", "TOT_POP")[0])
    assert spatial_proximity(g, t, proximity) == pytest.approx(theirs, abs=TOLERANCE)
    assert theirs == pytest.approx(0.99574, abs=1e-5)
    assert abs(theirs - old[11]) > 1e-3
    assert abs(distance_decay_interaction(g, t, proximity) - old[8]) > 1e-3


# --------------------------------------------------------------------------------------------
# Real Connecticut 2023 tracts
# --------------------------------------------------------------------------------------------

#: B03002 splits the population into these groups: total = their sum in every tract.
PARTITION = ["white_nh", "black_nh", "aian_nh", "asian_nh", "nhpi_nh", "other_nh",
             "two_or_more_nh", "hispanic"]  # fmt: skip


@pytest.fixture(scope="module")
def ct_tracts(ct_tracts_2023):
    """The 2023 CT tract table (879 tracts, EPSG:5070), built as config/config.yaml builds it."""
    tracts = ct_tracts_2023
    assert len(tracts) == 879
    assert tracts.crs.to_epsg() == 5070
    return tracts


def test_ct_county_matches_pysal(ct_tracts):
    # South Central planning region (New Haven), 135 tracts, at 1 km and 2 km.
    county = ct_tracts[ct_tracts["county_geoid"] == "09170"]
    county = county[[*PARTITION, "total", "geometry"]].reset_index(drop=True)
    assert len(county) == 135
    assert (county[PARTITION].sum(axis=1) == county["total"]).all()
    for group in ("hispanic", "black_nh"):
        assert_matches_pysal(county, group, "total", PARTITION, distances=[1000, 2000])
    assert_profile_matches_pysal(county, "hispanic", "total", [1000, 2000])


def test_ct_weights_are_sparse(ct_tracts):
    n = len(ct_tracts)
    weights = kernel_weights(centroids(ct_tracts), 2000)
    assert weights.shape == (n, n)
    # 879² = 772,641 pairs; within 2 km of each other: about 3,300 (every diagonal included).
    assert n <= weights.nnz < 0.01 * n * n
    assert np.diff(weights.indptr).max() < 30  # the densest egohood has a few dozen tracts
    assert weights.data.nbytes + weights.indices.nbytes < 100_000
    # The egohoods really do smooth: D falls from the aspatial value.
    g = ct_tracts["hispanic"].to_numpy(np.float64)
    t = ct_tracts["total"].to_numpy(np.float64)
    assert egohood_dissimilarity(g, t, weights) < dissimilarity(g, t - g)


def test_packed_egohoods_equal_each_area_alone():
    # SYNTHETIC: three areas of 5, 9 and 2 units (random points within 3 km, random
    # counts, one empty unit), padded to 9 units; the expected values are each area's
    # own egohood indices, which the tests above check against PySAL.
    rng = np.random.default_rng(11)
    sizes = [5, 9, 2]
    points = [rng.uniform(0, 3000, size=(n, 2)) for n in sizes]
    totals = [rng.integers(0, 400, size=(7, n)).astype(float) for n in sizes]
    totals[0][:, 1] = 0.0
    groups = [np.floor(total * rng.uniform(0, 1, size=total.shape)) for total in totals]
    width = max(sizes)
    group, total = np.zeros((7, len(sizes), width)), np.zeros((7, len(sizes), width))
    for k, n in enumerate(sizes):
        group[:, k, :n], total[:, k, :n] = groups[k], totals[k]
    for distance in (1000, 2500):
        weights = [kernel_weights(own, distance) for own in points]
        packed = egohood_indices(group, total, packed_weights(weights, width), packed=True)
        for k in range(len(sizes)):
            alone = egohood_indices(groups[k], totals[k], weights[k])
            for name in ("dissimilarity", "entropy"):
                np.testing.assert_allclose(packed[name][:, k], alone[name], rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="an area of 9 units in a width of 5"):
        packed_weights(weights, 5)
    with pytest.raises(ValueError, match="no areas to pack"):
        packed_weights([], 5)


def test_egohoods_of_single_precision_counts_are_computed_in_single_precision():
    # SYNTHETIC: 40 random units, 30 sets of counts. Counts and weights in single precision
    # (the measurement stage's draws) are smoothed and measured in single precision: the
    # same values as in double to about 10⁻⁶; double-precision weights are cast to match.
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 5000, size=(40, 2))
    total = rng.integers(50, 3000, size=(30, 40)).astype(float)
    group = np.floor(total * rng.uniform(0, 0.5, total.shape))
    weights = kernel_weights(points, 1500)
    double = egohood_indices(group, total, weights)
    for single_weights in (weights.astype(np.float32), weights):
        single = egohood_indices(group.astype(np.float32), total.astype(np.float32), single_weights)
        for name, value in double.items():
            assert single[name].dtype == np.float64  # values are returned in double
            np.testing.assert_allclose(single[name], value, rtol=2e-5)
            assert not np.array_equal(single[name], value)
