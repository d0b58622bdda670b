"""Tests for housing_segregation.indices (and measure.compute_indices on real data).

Three layers of evidence:
- small synthetic fixtures whose expected values are worked out by hand in comments;
- properties (hypothesis) and an independent oracle, PySAL ``segregation``, on random data;
- published reference values (Sacramento, from PySAL's own tests) and the real Connecticut
  2023 tract table, every index value of which is checked against PySAL or plain numpy.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segregation.singlegroup import Dissim, Interaction, Isolation

from housing_segregation.indices import dissimilarity, interaction, isolation
from housing_segregation.measure import compute_indices
from housing_segregation.tracts import build_tract_table

PROPERTY_SETTINGS = settings(max_examples=80, deadline=None, database=None)
ORACLE_SETTINGS = settings(max_examples=50, deadline=None, database=None)
GROUPS = ["black_nh", "hispanic", "asian_nh", "nonwhite"]
REFERENCE = "white_nh"


# --------------------------------------------------------------------------------------------
# Hand-computed synthetic fixtures
# --------------------------------------------------------------------------------------------


def test_dissimilarity_hand_computed():
    # Synthetic: 4 units, G = 1+3+0+4 = 8, O = 6+2+4+0 = 12.
    # Shares g/G = 1/8, 3/8, 0, 4/8 ; o/O = 1/2, 1/6, 1/3, 0.
    # |diffs| = 3/8, 5/24, 1/3, 1/2 = 9/24 + 5/24 + 8/24 + 12/24 = 34/24.
    # D = ½ · 34/24 = 17/24 ≈ 0.7083333.
    assert dissimilarity([1, 3, 0, 4], [6, 2, 4, 0]) == pytest.approx(17 / 24)


def test_dissimilarity_hand_computed_equal_sizes():
    # Synthetic: 3 units, G = O = 100. Shares .1,.2,.7 vs .5,.3,.2.
    # D = ½(|.1−.5| + |.2−.3| + |.7−.2|) = ½(.4 + .1 + .5) = 0.5.
    assert dissimilarity([10, 20, 70], [50, 30, 20]) == pytest.approx(0.5)


def test_dissimilarity_brief_example():
    # Synthetic: 2 units, G = 4, O = 6.
    # D = ½(|1/4 − 3/6| + |3/4 − 3/6|) = ½(0.25 + 0.25) = 0.25.
    assert dissimilarity([1, 3], [3, 3]) == pytest.approx(0.25)


def test_isolation_hand_computed():
    # Synthetic: 3 units, g = 8, 2, 5 (G = 15), t = 10, 10, 20.
    # xPx = (8/15)(8/10) + (2/15)(2/10) + (5/15)(5/20)
    #     = 64/150 + 4/150 + 25/300 = 128/300 + 8/300 + 25/300 = 161/300 ≈ 0.5366667.
    assert isolation([8, 2, 5], [10, 10, 20]) == pytest.approx(161 / 300)


def test_interaction_hand_computed():
    # Synthetic: 3 units, g = 8, 2, 5 (G = 15), o = 1, 6, 10, t = 10, 10, 20 (a third group
    # fills the rest: g + o = 9, 8, 15 ≤ t).
    # xPy = (8/15)(1/10) + (2/15)(6/10) + (5/15)(10/20)
    #     = 8/150 + 12/150 + 25/150 = 45/150 = 0.3.
    assert interaction([8, 2, 5], [1, 6, 10], [10, 10, 20]) == pytest.approx(0.3)


def test_interaction_uses_the_whole_unit_population_as_denominator():
    # Synthetic: one unit, g = 2, o = 3, t = 10 (5 people of other groups).
    # xPy = (2/2)(3/10) = 0.3, not 3/(2+3) = 0.6.
    assert interaction([2], [3], [10]) == pytest.approx(0.3)


def test_identical_distributions_give_zero_dissimilarity():
    # Synthetic: o = 10·g, so every share g/G equals o/O and each |difference| is 0 → D = 0.
    assert dissimilarity([3, 5, 2], [3, 5, 2]) == pytest.approx(0.0, abs=1e-15)
    assert dissimilarity([3, 5, 2], [30, 50, 20]) == pytest.approx(0.0, abs=1e-15)


def test_complete_separation_gives_dissimilarity_one():
    # Synthetic: no unit holds both groups. Shares 4/11, 0, 7/11 vs 0, 1, 0.
    # D = ½(4/11 + 1 + 7/11) = ½ · 2 = 1.
    assert dissimilarity([4, 0, 7], [0, 9, 0]) == pytest.approx(1.0)


def test_isolation_of_a_group_alone_in_its_units_is_one():
    # Synthetic: g = t wherever g > 0 → xPx = Σ (g/G)·1 = 1.
    assert isolation([5, 0, 3], [5, 4, 3]) == pytest.approx(1.0)


def test_units_with_total_zero_are_ignored():
    # Synthetic: the fixtures above with an empty unit (g = o = t = 0) inserted; 0/0 must not
    # turn the result into NaN. Expected values as above: 161/300 and 0.3.
    assert isolation([8, 0, 2, 5], [10, 0, 10, 20]) == pytest.approx(161 / 300)
    assert interaction([8, 0, 2, 5], [1, 0, 6, 10], [10, 0, 10, 20]) == pytest.approx(0.3)
    # Nor does an empty unit change D: both shares are 0 there. Expected 17/24 as above.
    assert dissimilarity([1, 3, 0, 0, 4], [6, 2, 0, 4, 0]) == pytest.approx(17 / 24)


def test_interaction_with_an_absent_other_group_is_zero():
    # Synthetic: o = 0 everywhere → every term (g/G)(0/t) = 0.
    assert interaction([1, 2], [0, 0], [3, 4]) == pytest.approx(0.0, abs=1e-15)


def test_inputs_may_be_pandas_series_with_any_index():
    # Synthetic: same counts as test_isolation_hand_computed, Series with a shuffled index;
    # the functions work by position, so the answer is still 161/300.
    group = pd.Series([8, 2, 5], index=[7, 3, 5])
    total = pd.Series([10, 10, 20], index=[1, 2, 3])
    assert isolation(group, total) == pytest.approx(161 / 300)


# --------------------------------------------------------------------------------------------
# Invalid input: ValueError naming the argument
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: dissimilarity([1, -1], [1, 1]), r"^group: .*negative"),
        (lambda: dissimilarity([1, 1], [1, -2]), r"^other: .*negative"),
        (lambda: isolation([1, 1], [2, -2]), r"^total: .*negative"),
        (lambda: interaction([1, 1], [-1, 1], [3, 3]), r"^other: .*negative"),
    ],
)
def test_negative_counts_are_rejected(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: dissimilarity([1, math.nan], [1, 1]), r"^group: .*missing"),
        (lambda: dissimilarity([1, 1], [np.inf, 1]), r"^other: .*infinite"),
        (lambda: isolation([1, 1], [2, math.nan]), r"^total: .*missing"),
        (lambda: interaction([1, 1], [1, 1], [3, math.nan]), r"^total: .*missing"),
    ],
)
def test_missing_or_infinite_counts_are_rejected(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_mismatched_lengths_name_each_argument_and_its_length():
    with pytest.raises(ValueError, match=r"different numbers of units") as caught:
        dissimilarity([1, 2, 3], [1, 2])
    assert "'group': 3" in str(caught.value)
    assert "'other': 2" in str(caught.value)
    with pytest.raises(ValueError, match=r"'total': 2"):
        interaction([1, 1, 1], [1, 1, 1], [3, 3])


def test_empty_input_is_rejected():
    # Every argument is empty at once, so there is no single argument to blame: "no units".
    with pytest.raises(ValueError, match=r"no units"):
        dissimilarity([], [])
    with pytest.raises(ValueError, match=r"no units"):
        isolation([], [])
    with pytest.raises(ValueError, match=r"no units"):
        interaction([], [], [])


def test_two_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match=r"^group: expected one count per unit"):
        isolation([[1, 2], [3, 4]], [[2, 2], [4, 4]])


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: dissimilarity([0, 0], [1, 2]), r"^group: .*no members"),
        (lambda: dissimilarity([1, 2], [0, 0]), r"^other: .*no members"),
        (lambda: isolation([0, 0], [1, 2]), r"^group: .*no members"),
        (lambda: interaction([0, 0], [1, 1], [2, 2]), r"^group: .*no members"),
    ],
)
def test_group_without_members_is_rejected(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_group_exceeding_total_is_rejected():
    with pytest.raises(ValueError, match=r"^group: exceeds total"):
        isolation([3, 1], [2, 5])
    # g + o = 4 > t = 3 in the first unit.
    with pytest.raises(ValueError, match=r"^group and other: together exceed total"):
        interaction([2, 1], [2, 0], [3, 5])


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

COUNT = st.integers(min_value=0, max_value=5_000)


@st.composite
def count_vector(draw, n: int) -> np.ndarray:
    """n counts with at least one member (one drawn unit gets +1)."""
    values = np.array(draw(st.lists(COUNT, min_size=n, max_size=n)), dtype=np.float64)
    values[draw(st.integers(0, n - 1))] += 1
    return values


@st.composite
def two_groups(draw, max_units: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Aligned counts of two groups, each with at least one member."""
    n = draw(st.integers(1, max_units))
    return draw(count_vector(n)), draw(count_vector(n))


@st.composite
def group_and_total(draw, max_units: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Group counts and unit totals ≥ the group (others fill the gap; some totals may be 0)."""
    n = draw(st.integers(1, max_units))
    group = draw(count_vector(n))
    rest = np.array(draw(st.lists(COUNT, min_size=n, max_size=n)), dtype=np.float64)
    return group, group + rest


@PROPERTY_SETTINGS
@given(two_groups())
def test_dissimilarity_lies_between_zero_and_one(counts):
    g, o = counts
    assert -1e-12 <= dissimilarity(g, o) <= 1 + 1e-12


@PROPERTY_SETTINGS
@given(two_groups())
def test_dissimilarity_is_symmetric(counts):
    g, o = counts
    assert dissimilarity(g, o) == pytest.approx(dissimilarity(o, g), rel=1e-12, abs=1e-14)


@PROPERTY_SETTINGS
@given(two_groups(), st.floats(min_value=1e-3, max_value=1e3))
def test_dissimilarity_is_invariant_to_scaling_both_groups(counts, factor):
    g, o = counts
    assert dissimilarity(factor * g, factor * o) == pytest.approx(
        dissimilarity(g, o), rel=1e-9, abs=1e-12
    )


@PROPERTY_SETTINGS
@given(st.data())
def test_dissimilarity_is_invariant_to_permuting_units(data):
    g, o = data.draw(two_groups())
    order = np.array(data.draw(st.permutations(range(len(g)))))
    assert dissimilarity(g[order], o[order]) == pytest.approx(
        dissimilarity(g, o), rel=1e-12, abs=1e-14
    )


@PROPERTY_SETTINGS
@given(group_and_total())
def test_isolation_lies_between_zero_and_one(counts):
    g, t = counts
    assert 0 <= isolation(g, t) <= 1 + 1e-12


@PROPERTY_SETTINGS
@given(two_groups())
def test_isolation_plus_interaction_is_one_in_a_two_group_universe(counts):
    # With t = g + o, Σ(g/G)(g/t) + Σ(g/G)(o/t) = Σ(g/G)·(g+o)/t = Σ g/G = 1.
    g, o = counts
    t = g + o
    assert isolation(g, t) + interaction(g, o, t) == pytest.approx(1.0, rel=1e-12)


# --------------------------------------------------------------------------------------------
# PySAL `segregation` as an oracle on random data
# --------------------------------------------------------------------------------------------


def pysal(index_class, frame: pd.DataFrame, group: str, total: str) -> float:
    """A PySAL single-group index; units with total 0 make PySAL divide 0 by 0 (it copes)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(index_class(frame, group, total).statistic)


@ORACLE_SETTINGS
@given(two_groups())
def test_dissimilarity_matches_pysal(counts):
    g, o = counts
    frame = pd.DataFrame({"g": g, "pair_total": g + o})
    assert dissimilarity(g, o) == pytest.approx(
        pysal(Dissim, frame, "g", "pair_total"), rel=1e-10, abs=1e-12
    )


@ORACLE_SETTINGS
@given(group_and_total())
def test_isolation_matches_pysal(counts):
    g, t = counts
    frame = pd.DataFrame({"g": g, "total": t})
    assert isolation(g, t) == pytest.approx(
        pysal(Isolation, frame, "g", "total"), rel=1e-10, abs=1e-12
    )


@ORACLE_SETTINGS
@given(two_groups())
def test_interaction_matches_pysal_in_a_two_group_universe(counts):
    # PySAL's Interaction takes the other group to be total − group, so total = g + o.
    g, o = counts
    frame = pd.DataFrame({"g": g, "total": g + o})
    assert interaction(g, o, g + o) == pytest.approx(
        pysal(Interaction, frame, "g", "total"), rel=1e-10, abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# Sacramento: published reference values
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sacramento(shared_data):
    folder = shared_data / "sacramento"
    tracts = gpd.read_file(folder / "sacramento1.geojson")
    reference = json.loads((folder / "reference_values_pysal_segregation.json").read_text())
    hispanic_column = "HISP_" if "HISP_" in tracts.columns else "HISP"
    hispanic = tracts[hispanic_column].to_numpy(dtype=np.float64)
    total = tracts["TOT_POP"].to_numpy(dtype=np.float64)
    assert len(tracts) == 403
    return hispanic, total, reference


def test_sacramento_dissimilarity_matches_pysal_published_value(sacramento):
    hispanic, total, reference = sacramento
    expected = reference["pysal_test_values"]["Dissim"]
    assert expected == pytest.approx(0.32184656076566864, abs=1e-16)
    assert dissimilarity(hispanic, total - hispanic) == pytest.approx(expected, abs=1e-10)


def test_sacramento_isolation_and_exposure(sacramento):
    hispanic, total, reference = sacramento
    verified = reference["verified_here_with_numpy"]
    assert isolation(hispanic, total) == pytest.approx(verified["Isolation_xPx"], abs=1e-10)
    assert interaction(hispanic, total - hispanic, total) == pytest.approx(
        verified["Exposure_xPy"], abs=1e-10
    )


# --------------------------------------------------------------------------------------------
# Real Connecticut 2023 tracts: every value of compute_indices against PySAL / numpy
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_2023(shared_data):
    """The 2023 CT tract table, built as config/config.yaml builds it, and its indices."""
    tracts = build_tract_table(
        year=2023,
        acs_path=shared_data / "census-api" / "acs5_2023_tract_state09.json",
        tract_boundaries_path=shared_data / "boundaries" / "cb_2020_09_tract_500k.geojson",
        town_boundaries_path=shared_data / "boundaries" / "cb_2020_09_cousub_500k.geojson",
        crs="EPSG:5070",
        crosswalk_path=shared_data / "crosswalks" / "ct_tract_2020_to_2022.csv",
        crosswalk_spec={
            "boundary_geoid_column": "tract_fips_2020",
            "acs_geoid_column": "Tract_fips_2022",
        },
    )
    table = compute_indices(tracts, groups=GROUPS, reference_group=REFERENCE)
    return pd.DataFrame(tracts.drop(columns="geometry")), table


def units_of(tracts: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    column = {"state": "state_fips", "county": "county_geoid"}[row["geography_level"]]
    units = tracts[tracts[column] == row["geography_id"]]
    assert len(units) > 0
    return units


def test_ct_table_has_every_index_for_the_state_and_each_county(ct_2023):
    tracts, table = ct_2023
    counties = sorted(tracts["county_geoid"].unique())
    assert counties == [f"091{k}0" for k in range(1, 10)]
    # 1 state + 9 counties, each with 4 groups × 3 indices + 1 poverty D = 13 rows.
    assert len(table) == 10 * 13
    assert sorted(table.loc[table.geography_level == "county", "geography_id"].unique()) == counties
    assert table["value"].notna().all()
    key = ["geography_id", "index", "group"]
    assert not table.duplicated(key).any()


def test_ct_dissimilarity_matches_pysal(ct_2023):
    tracts, table = ct_2023
    rows = table[(table["index"] == "dissimilarity") & (table["group"] != "below_poverty")]
    assert len(rows) == 10 * len(GROUPS)
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        frame = pd.DataFrame(
            {"g": units[row["group"]], "pair_total": units[row["group"]] + units[REFERENCE]}
        )
        expected = pysal(Dissim, frame, "g", "pair_total")
        assert row["reference_group"] == REFERENCE
        assert row["value"] == pytest.approx(expected, abs=1e-12), row.to_dict()


def test_ct_isolation_matches_pysal(ct_2023):
    tracts, table = ct_2023
    rows = table[table["index"] == "isolation"]
    assert len(rows) == 10 * len(GROUPS)
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        expected = pysal(Isolation, units[[row["group"], "total"]], row["group"], "total")
        assert row["reference_group"] == ""
        assert row["value"] == pytest.approx(expected, abs=1e-12), row.to_dict()


def test_ct_interaction_matches_direct_formula(ct_2023):
    tracts, table = ct_2023
    rows = table[table["index"] == "interaction"]
    assert len(rows) == 10 * len(GROUPS)
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        populated = units[units["total"] > 0]
        g = populated[row["group"]].to_numpy()
        w = populated[REFERENCE].to_numpy()
        t = populated["total"].to_numpy()
        expected = float(np.sum((g / g.sum()) * (w / t)))  # Σ (g_i/G)(w_i/t_i)
        assert row["value"] == pytest.approx(expected, abs=1e-12), row.to_dict()


#: B03002 splits the population into these groups: total = their sum in every tract.
PARTITION = ["white_nh", "black_nh", "aian_nh", "asian_nh", "nhpi_nh", "other_nh",
             "two_or_more_nh", "hispanic"]  # fmt: skip


def test_ct_interaction_adds_up_to_pysal_exposure_to_everyone_else(ct_2023):
    """An anchor independent of our formula: exposure of g to white_nh (the table value)
    plus exposure to each other group of the partition must equal PySAL's Interaction,
    the exposure of g to everyone not in g."""
    tracts, table = ct_2023
    populated = tracts[tracts["total"] > 0]
    assert (populated[PARTITION].sum(axis=1) == populated["total"]).all()
    rows = table[table["index"] == "interaction"]
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        units = units[units["total"] > 0]
        group = row["group"]
        members = [k for k in PARTITION if k != REFERENCE] if group == "nonwhite" else [group]
        others = [k for k in PARTITION if k not in members and k != REFERENCE]
        rest = sum(interaction(units[group], units[k], units["total"]) for k in others)
        expected = pysal(Interaction, units[[group, "total"]], group, "total")
        assert row["value"] + rest == pytest.approx(expected, abs=1e-12), row.to_dict()


def test_ct_poverty_dissimilarity_matches_pysal(ct_2023):
    tracts, table = ct_2023
    rows = table[table["group"] == "below_poverty"]
    assert len(rows) == 10
    assert (rows["index"] == "dissimilarity").all()
    assert (rows["reference_group"] == "above_poverty").all()
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        frame = pd.DataFrame(
            {
                "below": units["below_poverty"],
                "pair_total": units["below_poverty"] + units["above_poverty"],
            }
        )
        expected = pysal(Dissim, frame, "below", "pair_total")
        assert row["value"] == pytest.approx(expected, abs=1e-12), row.to_dict()


def test_ct_unit_counts_and_populations(ct_2023):
    tracts, table = ct_2023
    for _, row in table.iterrows():
        units = units_of(tracts, row)
        universe = "poverty_universe" if row["group"] == "below_poverty" else "total"
        counted = units[units[universe] > 0]
        assert row["n_units"] == len(counted), row.to_dict()
        assert row["population"] == round(counted[universe].sum()), row.to_dict()
    state = table[table["geography_level"] == "state"]
    # README: the 2023 tract totals add up to the state total, 3,598,348.
    assert (state.loc[state["group"] != "below_poverty", "population"] == 3_598_348).all()
