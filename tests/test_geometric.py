"""Tests for housing_segregation.geometric: concentration, centralization and clustering.

- small synthetic fixtures worked out by hand in comments;
- PySAL ``segregation`` 2.5.4 as an oracle (1e-9) on random rectilinear grids in EPSG:5070,
  on a grid of equal squares (ties in area and distance), on Sacramento and on the real
  Connecticut 2023 tracts;
- PySAL's published Sacramento value of AbsoluteCentralization, on the data as PySAL's own
  test reads it (EPSG:4326, degrees);
- batches (each row equals the 1-d call, NaN where undefined), the CRS-unit dependence of
  the clustering indices, and the memory of the n × n proximity matrix at 5,000 units.
"""

from __future__ import annotations

import json
import math
import tracemalloc
import warnings

import geopandas as gpd
import numpy as np
import pytest
from segregation.singlegroup import (
    AbsoluteCentralization,
    AbsoluteClustering,
    AbsoluteConcentration,
    Delta,
    RelativeCentralization,
    RelativeClustering,
    RelativeConcentration,
)
from shapely import box

from housing_segregation import geometric
from housing_segregation.geometric import (
    absolute_centralization,
    absolute_clustering,
    absolute_concentration,
    concentration_indices,
    delta,
    distance_to_centre,
    packed_local_indices,
    proximity_indices,
    relative_centralization,
    relative_clustering,
    relative_concentration,
    study_area_centre,
    unit_geometry,
)

ORIGIN = (1.9e6, 2.2e6)  # EPSG:5070 metres, near Connecticut


# --------------------------------------------------------------------------------------------
# Hand-computed synthetic fixtures
# --------------------------------------------------------------------------------------------


def test_delta_hand_computed():
    # Synthetic: 4 units, areas 1, 1, 2, 4 (A = 8), group 4, 2, 2, 0 (G = 8).
    # |4/8 − 1/8| + |2/8 − 1/8| + |2/8 − 2/8| + |0 − 4/8| = 3/8 + 1/8 + 0 + 4/8 = 1 → Δ = ½.
    assert delta([4, 2, 2, 0], [10, 10, 10, 10], [1, 1, 2, 4]) == pytest.approx(0.5)


def test_delta_of_a_group_spread_like_land_is_zero_and_ignores_total():
    # Synthetic: group proportional to area (g_i/G = a_i/A = .1, .3, .6) → every term 0.
    # The totals only bound the group: other totals give the same Δ.
    assert delta([1, 3, 6], [5, 5, 9], [10, 30, 60]) == pytest.approx(0.0, abs=1e-15)
    assert delta([1, 3, 6], [1, 3, 6], [10, 30, 60]) == pytest.approx(0.0, abs=1e-15)


def test_absolute_concentration_hand_computed_one_small_unit():
    # Synthetic: areas 1, 2, 3, 4 (given in shuffled order), t = 10 each (T = 40), group
    # 6, 4, 0, 0 in the units of area 1 and 2 (X = 10).
    # Smallest units holding X = 10 people: just area 1 (n1 = 1), T1 = 10, mean area 1.
    # Largest: just area 4 (n2 = 3, 0-based), T2 = 10, mean area 4.
    # Group's mean area Σ x a / X = (6·1 + 4·2)/10 = 1.4.
    # ACO = 1 − (1.4 − 1)/(4 − 1) = 1 − 2/15 = 13/15 ≈ 0.8667.
    order = [2, 0, 3, 1]
    group, total, area = np.array([6, 4, 0, 0]), np.full(4, 10), np.array([1.0, 2, 3, 4])
    value = absolute_concentration(group[order], total[order], area[order])
    assert value == pytest.approx(13 / 15)


def test_absolute_concentration_hand_computed_two_small_units():
    # Synthetic: areas 1, 2, 3, 4, t = 10, 20, 30, 40 (T = 100), group 5, 15, 5, 0 (X = 25).
    # Cumulative t/T from the smallest: .1, .3 → reaches X/T = .25 at the 2nd unit, n1 = 2,
    # T1 = 30, mean area (10·1 + 20·2)/30 = 5/3. From the largest: .4 ≥ .25 at once, T2 = 40,
    # mean area 4. Group's mean area (5·1 + 15·2 + 5·3)/25 = 50/25 = 2.
    # ACO = 1 − (2 − 5/3)/(4 − 5/3) = 1 − (1/3)/(7/3) = 6/7 ≈ 0.857.
    value = absolute_concentration([5, 15, 5, 0], [10, 20, 30, 40], [1, 2, 3, 4])
    assert value == pytest.approx(6 / 7)


def test_relative_concentration_hand_computed():
    # Synthetic: the previous fixture, other = t − g = 5, 5, 25, 40 (Y = 75).
    # Others' mean area (5·1 + 5·2 + 25·3 + 40·4)/75 = 250/75 = 10/3; group's 2.
    # RCO = (2/(10/3) − 1) / ((5/3)/4 − 1) = (0.6 − 1)/(5/12 − 1) = (−0.4)/(−7/12) = 24/35.
    value = relative_concentration([5, 15, 5, 0], [5, 5, 25, 40], [10, 20, 30, 40], [1, 2, 3, 4])
    assert value == pytest.approx(24 / 35)


def test_absolute_centralization_hand_computed():
    # Synthetic: 3 units at distances 1, 2, 3 from the centre (given in reverse), areas
    # 1, 1, 2 (A = 4), group 2, 1, 1 (X = 4). Cumulative shares outwards:
    # X_i = .5, .75, 1 ; A_i = .25, .5, 1.
    # ACE = (X_1 A_2 + X_2 A_3) − (X_2 A_1 + X_3 A_2) = (.5·.5 + .75·1) − (.75·.25 + 1·.5)
    #     = 1 − .6875 = 0.3125.
    value = absolute_centralization([1, 1, 2], [5, 5, 5], [3.0, 2.0, 1.0], [2, 1, 1])
    assert value == pytest.approx(0.3125)


def test_relative_centralization_hand_computed():
    # Synthetic: distances 1, 2, 3; group 2, 1, 1 (X_i = .5, .75, 1), other 0, 1, 3
    # (Y = 4, Y_i = 0, .25, 1).
    # RCE = (.5·.25 + .75·1) − (.75·0 + 1·.25) = .875 − .25 = 0.625.
    assert relative_centralization([2, 1, 1], [0, 1, 3], [1, 2, 3]) == pytest.approx(0.625)


def test_absolute_clustering_hand_computed():
    # Synthetic: 2 units 1,000 m apart, each of 1 km² (in m²: 1e6). PySAL's proximity:
    # off the diagonal w = d / Σ_k d_jk = 1000/1000 = 1, c_12 = c_21 = 1 − e⁻¹ =: k;
    # diagonal 1 − exp(−(0.6 · 1e6)^0.5) = 1 − exp(−774.6) = 1 (to double precision).
    # Group 4, 0; totals 4, 6; X = 4, n = 2, Σc = 2 + 2k.
    # Σ_i (x_i/X) Σ_j c_ij x_j = 1 · 4 = 4; with t: 1 · (4 + 6k); baseline X/n² Σc = 2 + 2k.
    # ACL = (4 − 2 − 2k)/(4 + 6k − 2 − 2k) = (1 − k)/(1 + 2k) = e⁻¹/(3 − 2e⁻¹) ≈ 0.16248.
    centroids, area = [[0, 0], [1000, 0]], [1e6, 1e6]
    expected = math.exp(-1) / (3 - 2 * math.exp(-1))
    assert absolute_clustering([4, 0], [4, 6], centroids, area) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: delta([1, 2], [3, 3], [1.0]), r"^area: 1 values for 2 units"),
        (lambda: delta([1, 2], [3, 3], [1.0, -1.0]), r"^area: contains negative"),
        (lambda: delta([1, 2], [3, 3], [0.0, 0.0]), r"^area: the units have no area"),
        (lambda: delta([1, 2], [3, 3], [[1.0, 1.0]]), r"^area: expected one value per unit"),
        (lambda: delta([1, 4], [3, 3], [1.0, 1.0]), r"^group: exceeds total"),
        (lambda: delta([0, 0], [3, 3], [1.0, 1.0]), r"^group: .*no members"),
        (lambda: absolute_centralization([1, 2], [3, 3], [1, np.nan], [1, 1]), r"^distance_to"),
        (lambda: relative_centralization([1, 2], [0, 0], [1, 2]), r"^other: has no members"),
        (
            lambda: relative_concentration([1, 2], [3, 3], [3, 3], [1, 2]),
            r"^group and other: together exceed total",
        ),
        (lambda: absolute_clustering([1, 2], [3, 3], [0, 1], [1, 1]), r"^centroids: expected"),
        (
            lambda: absolute_clustering([1, 2], [3, 3], [[0, 0]], [1, 1]),
            r"^centroids: 1 points for 2 units",
        ),
        (
            lambda: relative_clustering([1, 2], [1, 1], [[5, 5], [5, 5]], [1, 1]),
            r"^centroids: every unit has the same centroid",
        ),
        (
            lambda: absolute_clustering([1, 2], [3, 3], [[0, 0], [1, 0]], [1, 1], alpha=-1),
            r"^alpha: must be a non-negative number",
        ),
        (
            lambda: relative_clustering([1, 2], [1, 1], [[0, 0], [1, 0]], [1, 1], beta=True),
            r"^beta: must be a non-negative number",
        ),
        (lambda: distance_to_centre([[0, 0], [1, 1]], [0, 0, 0]), r"^centre: expected one point"),
    ],
)
def test_invalid_input_is_rejected_naming_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_concentration_on_equal_areas_is_undefined():
    # Synthetic: every unit of area 5 → the smallest and largest units have the same mean
    # area and ACO = 1 − 0/0. PySAL returns rounding noise (0.0 on the equal-square grid
    # below) or NaN; here it is undefined: ValueError alone, NaN in a batch.
    with pytest.raises(ValueError, match=r"^area: .*same mean area"):
        absolute_concentration([1, 2, 0], [3, 3, 3], [5, 5, 5])
    with pytest.raises(ValueError, match=r"^area: .*same mean area"):
        relative_concentration([1, 2, 0], [2, 1, 3], [3, 3, 3], [5, 5, 5])
    batch = absolute_concentration([[1, 2, 0], [1, 1, 1]], [3, 3, 3], [5, 5, 5])
    assert np.isnan(batch).all()


def grid_frame(crs: str = "EPSG:5070", columns: int = 2, rows: int = 2) -> gpd.GeoDataFrame:
    cells = [
        box(i * 1000.0, j * 1000.0, (i + 1) * 1000.0, (j + 1) * 1000.0)
        for i in range(columns)
        for j in range(rows)
    ]
    return gpd.GeoDataFrame({"g": np.ones(len(cells))}, geometry=cells, crs=crs)


def test_unit_geometry_reads_area_and_centroids_in_the_frames_crs():
    # Synthetic: 2 × 2 squares of 1 km side → area 1e6 m² each, centroids at 500/1500 m;
    # the mean centroid (the default centre) is (1000, 1000); distances √2 · 500.
    area, centroids = unit_geometry(grid_frame())
    np.testing.assert_allclose(area, np.full(4, 1e6), rtol=1e-15)
    np.testing.assert_allclose(centroids, [[500, 500], [500, 1500], [1500, 500], [1500, 1500]])
    centre = study_area_centre(grid_frame())
    np.testing.assert_allclose(centre, [1000, 1000])
    np.testing.assert_allclose(distance_to_centre(centroids, centre), np.full(4, 500 * 2**0.5))


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (grid_frame("EPSG:4326"), r"^gdf: CRS EPSG:4326 is geographic"),
        (grid_frame("EPSG:2234"), r"^gdf: CRS EPSG:2234 is in .*foot.*not metres"),
        (grid_frame().set_crs(None, allow_override=True), r"^gdf: has no CRS"),
    ],
)
def test_unit_geometry_wants_a_crs_in_metres(frame, pattern):
    with pytest.raises(ValueError, match=pattern):
        unit_geometry(frame)
    with pytest.raises(ValueError, match=pattern):
        study_area_centre(frame)


def test_unit_geometry_accepts_degrees_only_when_asked():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor does it pass on geopandas' warning
        area, centroids = unit_geometry(grid_frame("EPSG:4326"), allow_geographic=True)
    np.testing.assert_allclose(area, np.full(4, 1e6))  # the "degrees²" of these boxes
    assert centroids.shape == (4, 2)


# --------------------------------------------------------------------------------------------
# PySAL as the oracle
# --------------------------------------------------------------------------------------------

PYSAL_CLASSES = {
    "delta": Delta,
    "absolute_concentration": AbsoluteConcentration,
    "relative_concentration": RelativeConcentration,
    "absolute_centralization": AbsoluteCentralization,
    "relative_centralization": RelativeCentralization,
    "absolute_clustering": AbsoluteClustering,
    "relative_clustering": RelativeClustering,
}
PLANAR = ("delta", "absolute_concentration", "relative_concentration")
CENTRALIZATION = ("absolute_centralization", "relative_centralization")
CLUSTERING = ("absolute_clustering", "relative_clustering")


def pysal(name: str, frame: gpd.GeoDataFrame, group: str, total: str, **kwargs) -> float:
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # geographic-CRS and 0/0 warnings
        return float(PYSAL_CLASSES[name](frame, group, total, **kwargs).statistic)


def ours(name: str, frame: gpd.GeoDataFrame, group: str, total: str, **kwargs) -> float:
    """Our index from the frame's geometry, as a pipeline step would call it."""
    geographic = frame.crs.is_geographic
    area, centroids = unit_geometry(frame, allow_geographic=geographic)
    centre = kwargs.pop("centre", None)
    if centre is None:
        centre = study_area_centre(frame, allow_geographic=geographic)
    distance = distance_to_centre(centroids, centre)
    g = frame[group].to_numpy(dtype=np.float64)
    t = frame[total].to_numpy(dtype=np.float64)
    calls = {
        "delta": lambda: delta(g, t, area),
        "absolute_concentration": lambda: absolute_concentration(g, t, area),
        "relative_concentration": lambda: relative_concentration(g, t - g, t, area),
        "absolute_centralization": lambda: absolute_centralization(g, t, distance, area),
        "relative_centralization": lambda: relative_centralization(g, t - g, distance),
        "absolute_clustering": lambda: absolute_clustering(g, t, centroids, area, **kwargs),
        "relative_clustering": lambda: relative_clustering(g, t - g, centroids, area, **kwargs),
    }
    return calls[name]()


def random_grid(seed: int, columns: int, rows: int, *, equal: bool = False) -> gpd.GeoDataFrame:
    """Synthetic rectilinear grid in EPSG:5070: columns and rows of random widths (200 m to
    3 km, so unit areas differ) or all 1 km (equal squares: ties in area and in distance to
    the centre), shuffled; counts with an empty unit and a unit all of the group."""
    rng = np.random.default_rng(seed)
    widths = np.full(columns, 1000.0) if equal else rng.uniform(200, 3000, columns)
    heights = np.full(rows, 1000.0) if equal else rng.uniform(200, 3000, rows)
    xs = ORIGIN[0] + np.concatenate([[0], np.cumsum(widths)])
    ys = ORIGIN[1] + np.concatenate([[0], np.cumsum(heights)])
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(columns) for j in range(rows)]
    n = len(cells)
    total = rng.integers(0, 4000, n).astype(np.float64)
    # Group shares vary smoothly over space (a west–east gradient) plus noise.
    share = np.clip(np.linspace(0, 0.8, n) ** 2 + rng.beta(0.5, 3, n), 0, 1)
    group = rng.binomial(total.astype(np.int64), share).astype(np.float64)
    total[3], group[3] = 0, 0  # an empty unit
    total[5] = group[5] = 250  # a unit all of the group
    order = rng.permutation(n)
    frame = gpd.GeoDataFrame(
        {"g": group[order], "t": total[order]}, geometry=[cells[i] for i in order]
    )
    return frame.set_crs("EPSG:5070")


@pytest.mark.parametrize(("seed", "columns", "rows"), [(0, 6, 8), (1, 12, 15), (2, 20, 25)])
def test_every_index_matches_pysal_on_random_grids(seed, columns, rows):
    frame = random_grid(seed, columns, rows)
    for name in PYSAL_CLASSES:
        expected = pysal(name, frame, "g", "t")
        assert ours(name, frame, "g", "t") == pytest.approx(expected, rel=0, abs=1e-9), name


def test_clustering_matches_pysal_with_other_alpha_and_beta():
    frame = random_grid(3, 9, 9)
    for alpha, beta in [(0.0, 0.5), (2e-6, 1.0), (1e-6, 2.0)]:
        for name in CLUSTERING:
            expected = pysal(name, frame, "g", "t", alpha=alpha, beta=beta)
            value = ours(name, frame, "g", "t", alpha=alpha, beta=beta)
            assert value == pytest.approx(expected, rel=0, abs=1e-9), (name, alpha, beta)


def test_centralization_matches_pysal_around_a_given_centre():
    frame = random_grid(4, 10, 10)
    centre = (ORIGIN[0] + 2_500.0, ORIGIN[1] + 9_000.0)
    for name in CENTRALIZATION:
        expected = pysal(name, frame, "g", "t", center=centre)
        value = ours(name, frame, "g", "t", centre=centre)
        assert value == pytest.approx(expected, rel=0, abs=1e-9), name


def test_ties_in_distance_are_broken_as_pysal_breaks_them():
    """Equal 1 km squares: the 64 distances to the centre take 9 values. PySAL sorts them
    with NumPy's default (unstable) argsort and so do we; a stable sort orders the tied
    units otherwise and moves ACE from about −0.076 to −0.090."""
    frame = random_grid(5, 8, 8, equal=True)
    area, centroids = unit_geometry(frame)
    distance = distance_to_centre(centroids, study_area_centre(frame))
    assert len(np.unique(distance)) == 9
    g, t = frame["g"].to_numpy(), frame["t"].to_numpy()
    for name in (*CENTRALIZATION, "delta", *CLUSTERING):
        expected = pysal(name, frame, "g", "t")
        assert ours(name, frame, "g", "t") == pytest.approx(expected, rel=0, abs=1e-9), name
    stable = np.argsort(distance, kind="stable")
    reordered = absolute_centralization(g[stable], t[stable], np.arange(64.0), area[stable])
    assert abs(reordered - pysal("absolute_centralization", frame, "g", "t")) > 1e-3


def test_pysal_concentration_on_equal_squares_is_rounding_noise():
    """All areas equal: PySAL's ACO is 1 − (rounding noise)/(0 or noise), here −inf (0.0 on
    other counts), and RCO 0/0 = NaN. We call both undefined."""
    frame = random_grid(5, 8, 8, equal=True)
    absolute = pysal("absolute_concentration", frame, "g", "t")
    assert math.isinf(absolute) or absolute == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(pysal("relative_concentration", frame, "g", "t"))
    for name in ("absolute_concentration", "relative_concentration"):
        with pytest.raises(ValueError, match=r"^area: .*same mean area"):
            ours(name, frame, "g", "t")


def test_empty_units_count_where_area_or_distance_does():
    """Unlike the aspatial indices, a unit with nobody in it changes Δ and absolute
    centralization (it has area), both centralizations through the default centre (the mean
    of all unit centroids) and the clustering indices (it is in n and in every Σ_k d_jk), in
    PySAL as here. Concentration weights units by their people only, and so does relative
    centralization around a fixed centre: empty units leave those unchanged."""
    frame = random_grid(6, 6, 6)
    emptied = frame.copy()
    emptied.loc[emptied.index[:4], ["g", "t"]] = 0
    kept = emptied.iloc[4:]
    for name in PYSAL_CLASSES:
        with_empty = ours(name, emptied, "g", "t")
        assert with_empty == pytest.approx(pysal(name, emptied, "g", "t"), abs=1e-9), name
        without = ours(name, kept, "g", "t")
        if name in ("absolute_concentration", "relative_concentration"):
            assert with_empty == pytest.approx(without, abs=1e-12), name
        else:
            assert abs(with_empty - without) > 1e-6, name
    centre = study_area_centre(emptied)
    assert ours("relative_centralization", emptied, "g", "t") == pytest.approx(
        ours("relative_centralization", kept, "g", "t", centre=centre), abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# Sacramento: PySAL's published value, in PySAL's own CRS
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sacramento(shared_data):
    folder = shared_data / "sacramento"
    tracts = gpd.read_file(folder / "sacramento1.geojson")[["HISP_", "TOT_POP", "geometry"]]
    reference = json.loads((folder / "reference_values_pysal_segregation.json").read_text())
    assert len(tracts) == 403
    return tracts, reference


def test_sacramento_absolute_centralization_matches_pysal_published_value(sacramento):
    """PySAL's test reads sacramentot2.shp and computes AbsoluteCentralization on it as read,
    in lon/lat degrees (EPSG:4326 here), with the default centre: the mean of the tract
    centroids. We reproduce that exactly, degrees and all."""
    tracts, reference = sacramento
    assert tracts.crs.to_epsg() == 4326
    expected = reference["pysal_test_values"]["AbsoluteCentralization"]
    assert expected == pytest.approx(0.6891422368736286, abs=1e-16)
    value = ours("absolute_centralization", tracts, "HISP_", "TOT_POP")
    assert value == pytest.approx(expected, rel=0, abs=1e-9)


def test_sacramento_old_api_values_in_degrees(sacramento):
    """The reference file's list from the old ``ComputeAllSpatialSegregation`` (order inferred
    by matching) also holds Δ, ACO and RCE on the unprojected tracts, to its 8 decimals. Its
    RCO, 0.13100189, and its clustering values came from an older PySAL implementation;
    2.5.4 and we give RCO 0.12734 (and refuse clustering in degrees)."""
    tracts, reference = sacramento
    listed = reference["ComputeAllSpatialSegregation_values_old_api"]
    for name, position in [
        ("absolute_centralization", 1),
        ("absolute_concentration", 3),
        ("delta", 4),
        ("relative_centralization", 5),
    ]:
        value = ours(name, tracts, "HISP_", "TOT_POP")
        assert value == pytest.approx(listed[position], abs=5e-9), name
    relative = ours("relative_concentration", tracts, "HISP_", "TOT_POP")
    assert relative == pytest.approx(0.12733820870675222, abs=1e-9)
    assert abs(relative - listed[7]) > 1e-3


def test_sacramento_matches_pysal_unprojected_and_projected(sacramento):
    """In degrees (as read) PySAL refuses the clustering indices (``generate_distance_matrix``
    asserts a projected CRS); in EPSG:5070 every index is defined."""
    tracts, _ = sacramento
    for name in (*PLANAR, *CENTRALIZATION):
        expected = pysal(name, tracts, "HISP_", "TOT_POP")
        assert ours(name, tracts, "HISP_", "TOT_POP") == pytest.approx(expected, abs=1e-9), name
    with pytest.raises(AssertionError, match="euclidean coordinates"):
        pysal("absolute_clustering", tracts, "HISP_", "TOT_POP")
    projected = tracts.to_crs("EPSG:5070")
    for name in PYSAL_CLASSES:
        expected = pysal(name, projected, "HISP_", "TOT_POP")
        value = ours(name, projected, "HISP_", "TOT_POP")
        assert value == pytest.approx(expected, rel=0, abs=1e-9), name
    # A projection is not a rescaling: degrees and metres order and weigh units differently.
    assert ours("absolute_centralization", projected, "HISP_", "TOT_POP") == pytest.approx(
        0.6915250617312196, abs=1e-9
    )


#: EPSG:5070's Albers projection in kilometres instead of metres.
ALBERS_KM = (
    "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +datum=NAD83 +units=km"
)


def test_only_clustering_depends_on_the_crs_unit(sacramento):
    """Rescaling the CRS (m → km) leaves Δ, concentration and centralization unchanged (area
    shares, ratios of area-weighted means, the order of distances) and the clustering
    proximities off the diagonal too (d_ij / Σ_k d_jk has no unit), but the diagonal
    1 − exp(−(α a_i)^β) takes the area in the CRS unit: PySAL's clustering values change,
    and ours follow them when given areas in km²."""
    tracts, _ = sacramento
    metres = tracts.to_crs("EPSG:5070")
    kilometres = tracts.to_crs(ALBERS_KM)
    area = np.asarray(kilometres.area)
    centroids = np.column_stack([kilometres.centroid.x, kilometres.centroid.y])
    np.testing.assert_allclose(area, unit_geometry(metres)[0] / 1e6, rtol=1e-9)
    g, t = tracts["HISP_"].to_numpy(np.float64), tracts["TOT_POP"].to_numpy(np.float64)
    for name in (*PLANAR, *CENTRALIZATION):
        in_km = pysal(name, kilometres, "HISP_", "TOT_POP")
        assert in_km == pytest.approx(pysal(name, metres, "HISP_", "TOT_POP"), abs=1e-9), name
    for name, function, counts in [
        ("absolute_clustering", absolute_clustering, (g, t)),
        ("relative_clustering", relative_clustering, (g, t - g)),
    ]:
        in_km, in_m = (pysal(name, frame, "HISP_", "TOT_POP") for frame in (kilometres, metres))
        assert abs(in_km - in_m) > 0.01, name
        assert function(*counts, centroids, area) == pytest.approx(in_km, abs=1e-9), name
        assert ours(name, metres, "HISP_", "TOT_POP") == pytest.approx(in_m, abs=1e-9), name
    with pytest.raises(ValueError, match="not metres"):
        unit_geometry(kilometres)


# --------------------------------------------------------------------------------------------
# Real Connecticut 2023 tracts (EPSG:5070, as the pipeline builds them)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_2023(ct_tracts_2023):
    """The 2023 CT tract table, built as config/config.yaml builds it."""
    return ct_tracts_2023


@pytest.mark.parametrize("group", ["black_nh", "hispanic"])
def test_ct_state_matches_pysal(ct_2023, group):
    tracts = ct_2023[[group, "total", "geometry"]]
    assert len(tracts) > 800 and tracts.crs.to_epsg() == 5070
    for name in PYSAL_CLASSES:
        expected = pysal(name, tracts, group, "total")
        assert ours(name, tracts, group, "total") == pytest.approx(expected, rel=0, abs=1e-9), name


def test_ct_counties_match_pysal(ct_2023):
    for _, county in ct_2023.groupby("county_geoid"):
        tracts = county[["black_nh", "total", "geometry"]]
        for name in PYSAL_CLASSES:
            expected = pysal(name, tracts, "black_nh", "total")
            value = ours(name, tracts, "black_nh", "total")
            assert value == pytest.approx(expected, rel=0, abs=1e-9), name


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


def batched_calls(area, centroids, distance):
    """Every index as a function of (group, total) counts, geometry fixed."""
    return {
        "delta": lambda g, t: delta(g, t, area),
        "absolute_concentration": lambda g, t: absolute_concentration(g, t, area),
        "relative_concentration": lambda g, t: relative_concentration(g, t - g, t, area),
        "absolute_centralization": lambda g, t: absolute_centralization(g, t, distance, area),
        "relative_centralization": lambda g, t: relative_centralization(g, t - g, distance),
        "absolute_clustering": lambda g, t: absolute_clustering(g, t, centroids, area),
        "relative_clustering": lambda g, t: relative_clustering(g, t - g, centroids, area),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_batch_rows_equal_single_calls(seed):
    frame = random_grid(10 + seed, 8, 9)
    area, centroids = unit_geometry(frame)
    distance = distance_to_centre(centroids, study_area_centre(frame))
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 3000, (6, len(frame))).astype(np.float64)
    group = rng.binomial(total.astype(np.int64), rng.uniform(0, 1, len(frame))).astype(float)
    group[1] = 0  # draw 1: the group has no members
    group[2] = total[2]  # draw 2: nobody outside the group
    for name, function in batched_calls(area, centroids, distance).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # undefined draws give NaN silently
            batch = function(group, total)
        assert isinstance(batch, np.ndarray) and batch.shape == (6,), name
        for row in range(6):
            try:
                expected = function(group[row], total[row])
            except ValueError:
                assert np.isnan(batch[row]), (name, row)
            else:
                assert batch[row] == pytest.approx(expected, rel=1e-12, abs=1e-14), (name, row)
        assert np.isnan(batch[1]), name
        assert np.isfinite(batch[[0, 3, 4, 5]]).all(), name
        cube = function(group.reshape(2, 3, -1), total.reshape(2, 3, -1))
        assert cube.shape == (2, 3), name
        np.testing.assert_allclose(cube.reshape(-1), batch, rtol=1e-13, atol=0, equal_nan=True)
        # A total shared by every draw broadcasts against the group draws.
        shared = function(np.minimum(group, total[0]), total[0])
        assert shared.shape == (6,), name


def test_one_set_of_counts_gives_a_python_float():
    frame = random_grid(12, 4, 4)
    area, centroids = unit_geometry(frame)
    distance = distance_to_centre(centroids, study_area_centre(frame))
    g, t = frame["g"].to_numpy(), frame["t"].to_numpy()
    for name, function in batched_calls(area, centroids, distance).items():
        assert type(function(g, t)) is float, name


def test_proximity_blocks_do_not_change_the_result(monkeypatch):
    frame = random_grid(13, 7, 9)
    area, centroids = unit_geometry(frame)
    g, t = frame["g"].to_numpy(), frame["t"].to_numpy()
    whole = (
        absolute_clustering(g, t, centroids, area),
        relative_clustering(g, t - g, centroids, area),
    )
    monkeypatch.setattr(geometric, "_BLOCK_ELEMENTS", 5 * len(frame))  # blocks of 5 rows
    blocked = (
        absolute_clustering(g, t, centroids, area),
        relative_clustering(g, t - g, centroids, area),
    )
    np.testing.assert_allclose(blocked, whole, rtol=1e-13)


def test_clustering_of_5000_units_stays_well_under_300_mb():
    """The n × n proximity matrix is 200 MB at 5,000 units; blocks of rows keep the peak
    (numpy allocations, traced) near 100 MB, for a batch of draws as for one."""
    rng = np.random.default_rng(14)
    n = 5_000
    centroids = np.asarray(ORIGIN) + rng.uniform(0, 150_000, (n, 2))
    area = rng.uniform(2e5, 5e7, n)
    total = rng.integers(0, 6000, n).astype(np.float64)
    group = rng.binomial(total.astype(np.int64), 0.2, size=(2, n)).astype(np.float64)
    tracemalloc.start()
    try:
        absolute = absolute_clustering(group, total, centroids, area)
        relative = relative_clustering(group, total - group, centroids, area)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150e6
    assert absolute.shape == relative.shape == (2,)
    assert np.isfinite(absolute).all() and np.isfinite(relative).all()


# --------------------------------------------------------------------------------------------
# Indices computed together equal the separate functions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("whole_matrix", [True, False, "sliced"])
def test_proximity_indices_equal_the_separate_functions(whole_matrix, monkeypatch):
    """Synthetic: 3 groups × 6 draws over 40 units, with a universe shared by the groups
    (one axis fewer) and one draw where the group is absent; the matrix kept whole, rebuilt
    in blocks of 7 rows, or kept and read 5 rows at a time (as for a large batch)."""
    from dataclasses import replace

    from housing_segregation.spatial import (
        decay_proximity,
        distance_decay_interaction,
        distance_decay_isolation,
        spatial_proximity,
    )

    rng = np.random.default_rng(31)
    points = rng.uniform(0, 2e4, (40, 2))
    area = rng.uniform(2e5, 5e6, 40)
    group = rng.poisson(30, (3, 6, 40)).astype(float)
    group[1, 2] = 0
    other = rng.poisson(90, (3, 6, 40)).astype(float)
    universe = (group + other).max(axis=0) + rng.poisson(10, (6, 40))
    proximity = decay_proximity(points, area)
    if not whole_matrix:
        proximity = replace(proximity, matrix=None, block_rows=7)
    if whole_matrix == "sliced":
        monkeypatch.setattr(geometric, "_PRODUCT_ELEMENTS", 18 * 5)  # 3 × 6 rows of counts
    together = proximity_indices(group, other, universe, proximity)
    separate = {
        "distance_decay_isolation": distance_decay_isolation(group, universe, proximity),
        "distance_decay_interaction": distance_decay_interaction(group, group + other, proximity),
        "spatial_proximity": spatial_proximity(group, group + other, proximity),
        "absolute_clustering": absolute_clustering(group, universe, points, area),
        "relative_clustering": relative_clustering(group, other, points, area),
    }
    assert together.keys() == separate.keys()
    for name, expected in separate.items():
        np.testing.assert_allclose(together[name], expected, rtol=1e-11, err_msg=name)
        assert np.isnan(together[name][1, 2]), name


@pytest.mark.parametrize("whole_matrix", [True, False])
def test_products_had_from_counts_that_sum_to_others_change_no_value(whole_matrix):
    """Synthetic: 3 groups × 5 draws over 30 units. (a) The universe is comparison 1's
    group plus its other (universe_from=1, as non-white and white make the total; groups
    0 and 2 are parts of group 1, as Black and Asian residents of the non-white); (b)
    each other is the universe less its group (others_are_rest, as the poverty pairs).
    The products c @ universe, resp. c @ other, are then sums of the others': every value
    equals the one from all three products, to rounding, in double and single precision."""
    from dataclasses import replace

    from housing_segregation.spatial import decay_proximity

    rng = np.random.default_rng(43)
    points = rng.uniform(0, 2e4, (30, 2))
    proximity = decay_proximity(points, rng.uniform(2e5, 5e6, 30))
    if not whole_matrix:
        proximity = replace(proximity, matrix=None, block_rows=7)
    group = rng.poisson(30, (3, 5, 30)).astype(float)
    group[0] = rng.binomial(group[1].astype(int), 0.4)
    group[2] = rng.binomial(group[1].astype(int), 0.3)
    shared_other = rng.poisson(90, (5, 30)).astype(float)
    universe = group[1] + shared_other
    rest_universe = group.sum(axis=0) + rng.poisson(20, (5, 30))
    cases = [
        ((group, shared_other, universe), {"universe_from": 1}),
        ((group, rest_universe - group, rest_universe), {"others_are_rest": True}),
    ]
    for counts, relation in cases:
        for single in (None, 1):
            expected = proximity_indices(*counts, proximity, single_precision_from=single)
            derived = proximity_indices(
                *counts, proximity, single_precision_from=single, **relation
            )
            for name, value in expected.items():
                np.testing.assert_allclose(
                    derived[name][:, :1], value[:, :1], rtol=1e-12, err_msg=(name, relation)
                )
                np.testing.assert_allclose(
                    derived[name], value, rtol=1e-5, err_msg=(name, relation, single)
                )


def eight_units_in_a_row():
    """SYNTHETIC: 8 units 1 km apart on a line, 1 km² each; their proximity and counts of
    one in every unit for 2 comparisons (for argument checks)."""
    from housing_segregation.spatial import decay_proximity

    points = np.asarray(ORIGIN) + np.arange(8.0)[:, None] * [1000.0, 0.0]
    return decay_proximity(points, np.full(8, 1e6)), np.ones((2, 8))


def test_products_had_from_other_counts_need_a_comparison_and_one_rule():
    proximity, counts = eight_units_in_a_row()
    with pytest.raises(ValueError, match="universe_from: 2 is not a comparison"):
        proximity_indices(counts, counts, 2 * counts, proximity, universe_from=2)
    with pytest.raises(ValueError, match="give one or neither"):
        proximity_indices(
            counts, counts, 2 * counts, proximity, universe_from=0, others_are_rest=True
        )


def test_concentration_indices_equal_the_separate_functions():
    """Synthetic: 2 groups × 5 draws over 25 units, the universe shared by both."""
    rng = np.random.default_rng(32)
    area = rng.uniform(2e5, 5e6, 25)
    group = rng.poisson(40, (2, 5, 25)).astype(float)
    other = rng.poisson(60, (2, 5, 25)).astype(float)
    universe = (group + other).max(axis=0) + rng.poisson(5, (5, 25))
    together = concentration_indices(group, other, universe, area)
    np.testing.assert_allclose(
        together["absolute_concentration"],
        absolute_concentration(group, universe, area),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        together["relative_concentration"],
        relative_concentration(group, other, universe, area),
        rtol=1e-12,
    )


@pytest.mark.parametrize("whole_matrix", [True, False])
def test_draws_in_single_precision_stay_far_within_their_spread(whole_matrix):
    """Synthetic: 1,500 units around a centre, group shares rising west to east (so the
    groups cluster), 3 groups and the rest of the universe, published counts then 200 draws
    with ACS-like noise (s.d. 3 √(count + 1)). With the draws' products in single
    precision, each draw's value moves by less than 1e-3 of the draws' spread (s.d.; 1.2e-5
    at most, measured), and the published counts' values are the double-precision ones."""
    from dataclasses import replace

    from housing_segregation.spatial import decay_proximity

    rng = np.random.default_rng(41)
    n, draws = 1_500, 200
    points = np.asarray(ORIGIN) + rng.normal(0, 15_000, (n, 2))
    area = rng.uniform(2e5, 5e6, n)
    share = 1 / (1 + np.exp(-(points[:, 0] - ORIGIN[0]) / 8_000))
    total = rng.poisson(1_400, n)
    published = np.stack(
        [rng.binomial(total, s) for s in (0.5 * share, 0.3 * share, 0.05 + 0 * share)]
    )

    def with_draws(counts):
        noise = rng.normal(0, 3 * np.sqrt(counts + 1.0), (draws, *counts.shape))
        return np.concatenate([counts[None], np.maximum(np.rint(counts + noise), 0)])

    group = np.stack([with_draws(counts) for counts in published])  # (3, 201, n)
    other = with_draws(np.maximum(total - published.sum(axis=0), 0))
    universe = group.sum(axis=0) + other
    proximity = decay_proximity(points, area)
    if not whole_matrix:
        proximity = replace(proximity, matrix=None, block_rows=97)
    double = proximity_indices(group, other, universe, proximity)
    single = proximity_indices(group, other, universe, proximity, single_precision_from=1)
    for name, exact in double.items():
        np.testing.assert_allclose(single[name][:, 0], exact[:, 0], rtol=1e-13, err_msg=name)
        spread = exact[:, 1:].std(axis=-1, keepdims=True)
        moved = np.abs(single[name][:, 1:] - exact[:, 1:]) / spread
        assert moved.max() < 1e-3, (name, moved.max())  # measured: at most 1.2e-5


def test_single_precision_must_start_on_the_batch_axis():
    proximity, counts = eight_units_in_a_row()
    with pytest.raises(ValueError, match="single_precision_from: 3 is not a position"):
        proximity_indices(counts, counts, 2 * counts, proximity, single_precision_from=3)


def test_packed_local_indices_equal_each_area_alone():
    # SYNTHETIC: four areas padded to 12 units: random areas and distances; equal areas
    # and equal distances (ties, which PySAL's unstable argsort orders); one unit alone
    # (concentration undefined). Expected: each area's own indices, checked against
    # PySAL above, on a batch of 6 draws (so undefined values are NaN, not errors).
    rng = np.random.default_rng(5)
    sizes = [7, 12, 9, 1]
    areas = [rng.uniform(1e5, 9e6, n) for n in sizes]
    distances = [rng.uniform(0, 2e4, n) for n in sizes]
    areas[2], distances[2] = np.full(9, 4e6), np.repeat([1e3, 2e3, 3e3], 3)
    totals = [rng.integers(0, 900, size=(6, n)).astype(float) for n in sizes]
    totals[1][:, 3] = 0.0
    groups = [np.floor(t * rng.uniform(0, 0.6, t.shape)) for t in totals]
    others = [
        np.floor((t - g) * rng.uniform(0.3, 1, t.shape))
        for t, g in zip(totals, groups, strict=True)
    ]
    width = max(sizes)
    padded = [np.zeros((6, len(sizes), width)) for _ in range(3)]
    for k, n in enumerate(sizes):
        for values, own in zip(padded, (groups[k], others[k], totals[k]), strict=True):
            values[:, k, :n] = own
    packed = packed_local_indices(*padded, areas, distances)
    for k in range(len(sizes)):
        g, o, t, a, d = groups[k], others[k], totals[k], areas[k], distances[k]
        alone = {
            "delta": delta(g, t, a),
            **concentration_indices(g, o, t, a),
            "absolute_centralization": absolute_centralization(g, t, d, a),
            "relative_centralization": relative_centralization(g, o, d),
        }
        assert set(alone) == set(packed)
        for name, value in alone.items():
            np.testing.assert_allclose(packed[name][:, k], value, rtol=1e-12, atol=1e-14)
    # Undefined where every unit has the same area, or there is one unit.
    assert np.isnan(packed["absolute_concentration"][:, 2:]).all()
    assert np.isfinite(packed["absolute_concentration"][:, :2]).all()
    with pytest.raises(ValueError, match="3 and 4 areas for counts of 4"):
        packed_local_indices(*padded, areas[:3], distances)
