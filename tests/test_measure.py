"""The measurement stage: levels, minimum sizes and Monte Carlo intervals."""

import logging

import numpy as np
import pandas as pd
import pytest

from housing_segregation.measure import INDEX_COLUMNS, compute_indices

GROUPS = ["black_nh", "hispanic", "asian_nh", "nonwhite"]


@pytest.fixture(scope="module")
def northeast(ct_tracts_2023):
    """Connecticut 2023's Northeastern planning region (26 tracts), with towns and CBSAs."""
    tracts = ct_tracts_2023
    return pd.DataFrame(tracts[tracts["county_geoid"] == "09150"].drop(columns="geometry"))


def measure(tracts, **options):
    return compute_indices(tracts, groups=GROUPS, reference_group="white_nh", **options)


def test_intervals_surround_the_value_and_follow_the_seed(northeast):
    table = measure(northeast, draws=200, seed=[1, 2023, 9], minimum_units={"town": 3})
    assert list(table.columns) == INDEX_COLUMNS
    assert (table["se"] > 0).all()
    assert (table["ci_low"] <= table["value"]).all()
    assert (table["value"] <= table["ci_high"]).all()
    again = measure(northeast, draws=200, seed=[1, 2023, 9], minimum_units={"town": 3})
    pd.testing.assert_frame_equal(table, again)
    other = measure(northeast, draws=200, seed=[2, 2023, 9], minimum_units={"town": 3})
    assert not np.allclose(table["se"], other["se"])
    assert np.allclose(table["value"], other["value"])  # draws never move the point value


def test_areas_gathered_into_frames_change_no_row(northeast, monkeypatch):
    # The rows of several areas become one frame, their intervals one pass: an area at a
    # time must give the same table, bit for bit.
    gathered = measure(northeast, draws=50, seed=[1, 2023, 9], minimum_units={"town": 3})
    monkeypatch.setattr("housing_segregation.measure._FRAME_ROWS", 1)
    one_by_one = measure(northeast, draws=50, seed=[1, 2023, 9], minimum_units={"town": 3})
    assert gathered["geography_id"].nunique() == 5  # one frame against one per area
    pd.testing.assert_frame_equal(gathered, one_by_one)


def test_without_draws_the_interval_columns_are_missing(northeast):
    table = measure(northeast)
    assert table[["se", "ci_low", "ci_high"]].isna().all().all()


def test_levels_and_the_town_minimum(northeast, caplog):
    with caplog.at_level(logging.INFO, logger="housing_segregation.measure"):
        table = measure(northeast, minimum_units={"town": 4})
    # Its CBSA parts are one tract each, or cross into Massachusetts: no CBSA rows.
    assert set(table["geography_level"]) == {"state", "county", "planning_region", "town"}
    towns = northeast[northeast["total"] > 0].groupby("town_geoid").size()
    assert set(table.loc[table["geography_level"] == "town", "geography_id"]) == set(
        towns[towns >= 4].index
    )
    small = towns[towns < 4].index[0]
    assert any(small in message and "fewer than the minimum 4" in message
               for message in caplog.messages)  # fmt: skip


def test_cbsa_reaching_into_another_state_is_not_measured(northeast):
    # Windham County's tracts sit in Worcester, MA-CT: measured only with Massachusetts.
    windham = northeast[northeast["cbsa_geoid"] == "49340"]
    assert len(windham) > 10
    assert "49340" not in set(measure(windham)["geography_id"])
    complete = windham.assign(cbsa_complete=True)
    assert "49340" in set(measure(complete)["geography_id"])


@pytest.fixture(scope="module")
def northeast_geometry(northeast, shared_data):
    """The Northeastern region's tract centroids (n, 2) and areas (n,), EPSG:5070."""
    import geopandas as gpd

    shapes = gpd.read_file(shared_data / "boundaries" / "cb_2020_09_tract_500k.geojson")
    shapes = shapes.to_crs("EPSG:5070").set_index("GEOID").loc[northeast["boundary_geoid"]]
    return np.column_stack([shapes.centroid.x, shapes.centroid.y]), shapes.area.to_numpy()


def measure_everything(tracts, geometry, **options):
    centroids, unit_areas = geometry
    return measure(
        tracts,
        centroids=centroids,
        unit_areas=unit_areas,
        radii=[1000, 2000],
        draws=50,
        seed=[3, 2023, 9],
        inference={"bias_correction_draws": 50, "permutations": 99},
        **options,
    )


def test_spatial_and_geometric_indices_are_wired_to_the_engine(northeast, northeast_geometry):
    from housing_segregation.spatial import egohood_dissimilarity, kernel_weights

    centroids, _ = northeast_geometry
    table = measure_everything(northeast, northeast_geometry)
    county = table[(table["geography_level"] == "county") & (table["group"] == "hispanic")]
    values = county.set_index("index")["value"]
    pair = northeast["hispanic"] + northeast["white_nh"]
    expected = egohood_dissimilarity(
        northeast["hispanic"].to_numpy(), pair.to_numpy(), kernel_weights(centroids, 1000)
    )
    assert values["spatial_dissimilarity_1km"] == pytest.approx(expected, abs=1e-12)
    assert {"spatial_entropy_2km", "delta", "relative_clustering"} <= set(values.index)
    assert 0 < values["dissimilarity_random_allocation_p"] <= 1
    # Signed indices keep negative interval bounds; the others stop at 0.
    signed = county[county["index"] == "relative_centralization"].iloc[0]
    assert signed["ci_low"] <= signed["value"] <= signed["ci_high"]
    assert (table.loc[table["index"] == "dissimilarity", "ci_low"] >= 0).all()


def synthetic_two_tract_state(black=(60, 60), white=(40, 40)) -> pd.DataFrame:
    """SYNTHETIC: a state of two tracts (no other level), every race and poverty part given
    with a margin of error of 10."""
    from housing_segregation.uncertainty import POVERTY_PARTS, RACE_PARTS

    columns = {part: [0.0, 0.0] for part in (*RACE_PARTS, *POVERTY_PARTS)}
    columns.update(black_nh=list(black), white_nh=list(white), hispanic=[5.0, 5.0],
                   asian_nh=[5.0, 5.0])  # fmt: skip
    columns.update(poverty_ratio_under_0_50=[30.0, 10.0], poverty_ratio_2_00_and_over=[70.0, 90.0])
    frame = pd.DataFrame(columns)
    for part in (*RACE_PARTS, *POVERTY_PARTS):
        frame[f"{part}_moe"] = 10.0
    frame["total"] = frame[list(RACE_PARTS)].sum(axis=1)
    ids = {"year": 2023, "geoid": ["99000000001", "99000000002"], "state_fips": "99",
           "state_name": "Synthetic", "town_geoid": None}  # fmt: skip
    return frame.assign(**ids)


def test_an_index_undefined_on_the_published_counts_is_left_empty():
    """Two tracts of 110 people, 60 Black in each: the 120 Black residents outnumber either
    tract, so the smallest tracts that hold them and the largest both are the whole state,
    whose mean areas are the same: absolute and relative concentration are undefined
    (PySAL divides 0 by 0). Their rows stay, with empty values and intervals; the other
    indices are computed."""
    tracts = synthetic_two_tract_state()
    table = measure(
        tracts, draws=20, seed=[1, 2023, 99], centroids=np.array([[0.0, 0.0], [3000.0, 0.0]]),
        unit_areas=np.array([1e6, 2e6]), radii=[1000],
    )  # fmt: skip
    black = table[table["group"] == "black_nh"].set_index("index")
    for index in ("absolute_concentration", "relative_concentration"):
        assert black.loc[index, ["value", "se", "ci_low", "ci_high"]].isna().all(), index
    assert black.loc["dissimilarity", "value"] == pytest.approx(0.0)  # alike in both tracts
    defined = black.drop(["absolute_concentration", "relative_concentration"])
    assert defined[["value", "se"]].notna().all().all()


def test_small_areas_measured_in_packs_equal_each_area_alone(
    northeast, northeast_geometry, monkeypatch
):
    from housing_segregation import measure as stage

    found = stage.areas(northeast, {"town": 2})
    packs = stage.packs(found)
    # Every area once; the six towns of 2 tracts or more share packs; the region's
    # levels whose M is split into towns are packed apart from the towns.
    assert sorted(number for pack in packs for number, _ in pack) == list(range(len(found)))
    assert len(packs) < len(found)
    for pack in packs:
        assert len({area.level in stage.DECOMPOSED_LEVELS for _, area in pack}) == 1
        assert len(pack) * max(len(area.units) for _, area in pack) <= stage._PACK_UNITS
    packed = measure_everything(northeast, northeast_geometry, minimum_units={"town": 2})
    monkeypatch.setattr("housing_segregation.measure._PACK_LIMIT", 0)
    assert all(len(pack) == 1 for pack in stage.packs(found))
    alone = measure_everything(northeast, northeast_geometry, minimum_units={"town": 2})
    key = ["geography_level", "geography_id", "index", "group", "reference_group"]
    pd.testing.assert_frame_equal(packed[key], alone[key])
    assert packed.loc[packed["geography_level"] == "town", "geography_id"].nunique() == 6
    for column in ("value", "se", "ci_low", "ci_high"):
        # Padding changes only the order of some sums (the centralization curves' most).
        np.testing.assert_allclose(packed[column], alone[column], rtol=1e-9, atol=1e-12)


def test_egohood_draws_in_single_precision_move_intervals_far_less_than_their_width(
    northeast, northeast_geometry, monkeypatch
):
    # The draws' egohood indices are computed in single precision (and their products with
    # the proximity matrix). With egohoods in double precision, the published values are
    # the same and the egohood intervals move by under 0.5% of their width (at most 0.15%
    # on a synthetic nation of 8,000 block groups); the Monte Carlo error of a 90% bound
    # from 50 draws is tens of times that.
    single = measure_everything(northeast, northeast_geometry)
    monkeypatch.setattr("housing_segregation.measure.DRAWS_EGOHOOD_DTYPE", np.float64)
    double = measure_everything(northeast, northeast_geometry)
    pd.testing.assert_series_equal(single["value"], double["value"])
    egohood = double["index"].str.startswith("spatial_").to_numpy()
    width = (double["ci_high"] - double["ci_low"]).to_numpy()
    measured = egohood & (width > 0)
    assert measured.sum() > 200
    for column in ("se", "ci_low", "ci_high"):
        assert (single[column].isna() == double[column].isna()).all(), column
        moved = np.abs(single[column] - double[column]).fillna(0).to_numpy()
        assert (moved[measured] <= 0.005 * width[measured]).all(), column
        assert (moved[~egohood] == 0).all(), column  # nothing else moves
        assert (moved[egohood] > 0).any(), column  # single precision did change draws


def test_count_relation_is_read_from_the_parts_and_checked_on_the_counts():
    """SYNTHETIC: 4 tracts with every race and poverty part drawn at random; composites
    summed from them (as point_counts does). Non-white and white make the total (so its
    product is had from theirs); each poverty reference is the universe less its group;
    Black against white make no such sum; a total that is not the sum of its parts is
    measured as given."""
    from housing_segregation.measure import comparisons, count_relation, families
    from housing_segregation.uncertainty import COMPOSITES, POVERTY_PARTS, RACE_PARTS

    rng = np.random.default_rng(3)
    point = {part: rng.integers(0, 50, 4).astype(float) for part in RACE_PARTS + POVERTY_PARTS}
    point.update({name: sum(point[p] for p in parts) for name, parts in COMPOSITES.items()})
    race, poverty = families(comparisons(["black_nh", "nonwhite"], "white_nh")).values()
    assert count_relation(race, "total", point) == {"universe_from": 1}
    assert count_relation(race[:1], "total", point) == {}
    assert count_relation(poverty, "poverty_universe", point) == {"others_are_rest": True}
    point["total"] = point["total"] + 1
    assert count_relation(race, "total", point) == {}
