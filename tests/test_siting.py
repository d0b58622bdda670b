"""Tests for housing_segregation.siting: siting metrics on a hand-computed synthetic area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housing_segregation.indices import gini
from housing_segregation.siting import (
    ALL_HOUSING,
    SITING_COLUMNS,
    appeals_gap,
    appeals_summary,
    concentration_gini,
    siting_metrics,
)

LEVELS = {"state": ("state_fips", "state_name"), "town": ("town_geoid", "town_name")}


def synthetic_tracts() -> pd.DataFrame:
    """Synthetic: four tracts in two towns of one state.

    tract  town  homes  non-white  poverty  R/ECAP  public housing units
    A      1     100    0.60       0.45     yes     50
    B      1     300    0.20       0.10     no      10
    C      2     400    0.30       0.25     no       0
    D      2     200    0.55       0.05     no      40
    """
    return pd.DataFrame(
        {
            "year": 2023,
            "geoid": ["A", "B", "C", "D"],
            "state_fips": "09",
            "state_name": "Connecticut",
            "town_geoid": ["T1", "T1", "T2", "T2"],
            "town_name": ["One", "One", "Two", "Two"],
            "households": [100.0, 300.0, 400.0, 200.0],
            "nonwhite_share": [0.60, 0.20, 0.30, 0.55],
            "poverty_rate": [0.45, 0.10, 0.25, 0.05],
            "recap": [True, False, False, False],
        }
    )


def synthetic_units() -> pd.DataFrame:
    # Tract C is left out: no units there.
    return pd.DataFrame({"geoid": ["A", "B", "D"], "public_housing": [50.0, 10.0, 40.0]})


def metric(table: pd.DataFrame, program: str, level: str, geography: str, name: str) -> float:
    rows = table[
        (table["program"] == program)
        & (table["geography_level"] == level)
        & (table["geography_id"] == geography)
        & (table["metric"] == name)
    ]
    assert len(rows) == 1, (program, level, geography, name)
    return float(rows["value"].iloc[0])


def test_siting_metrics_hand_computed():
    table = siting_metrics(synthetic_tracts(), synthetic_units(), ["public_housing"], levels=LEVELS)
    assert list(table.columns) == SITING_COLUMNS

    def state(program, name):
        return metric(table, program, "state", "09", name)

    # 100 units, 1,000 homes.
    assert state("public_housing", "units") == 100
    assert state(ALL_HOUSING, "units") == 1000
    # R/ECAP: A holds 50 of 100 units, 100 of 1,000 homes.
    assert state("public_housing", "share_in_recap") == pytest.approx(0.5)
    assert state(ALL_HOUSING, "share_in_recap") == pytest.approx(0.1)
    # Poverty ≥ 20%: A and C (50 + 0 units; 100 + 400 homes); ≥ 40%: A only.
    assert state("public_housing", "share_in_poverty_20") == pytest.approx(0.5)
    assert state(ALL_HOUSING, "share_in_poverty_20") == pytest.approx(0.5)
    assert state("public_housing", "share_in_poverty_40") == pytest.approx(0.5)
    # Majority non-white: A and D (50 + 40 units; 100 + 200 homes).
    assert state("public_housing", "share_in_majority_nonwhite") == pytest.approx(0.9)
    assert state(ALL_HOUSING, "share_in_majority_nonwhite") == pytest.approx(0.3)
    # Host tracts: (50·0.60 + 10·0.20 + 40·0.55)/100 = 0.54; poverty (22.5 + 1 + 2)/100.
    assert state("public_housing", "host_nonwhite_share") == pytest.approx(0.54)
    assert state("public_housing", "host_poverty_rate") == pytest.approx(0.255)
    # D across tracts: ½(|.5−.1| + |.1−.3| + |0−.4| + |.4−.2|) = 0.6.
    assert state("public_housing", "dissimilarity_tracts") == pytest.approx(0.6)
    # Lorenz curve over C, B, D, A (units per home 0, 1/30, 0.2, 0.5):
    # 1 − (0.4·0 + 0.3·0.1 + 0.2·0.6 + 0.1·1.5) = 0.7.
    assert state("public_housing", "gini_tracts") == pytest.approx(0.7)
    # Towns: One has 60 units and 400 homes, Two 40 and 600.
    assert state("public_housing", "dissimilarity_towns") == pytest.approx(0.2)
    assert state("public_housing", "gini_towns") == pytest.approx(0.2)
    # All housing is spread like itself.
    assert state(ALL_HOUSING, "dissimilarity_tracts") == pytest.approx(0.0, abs=1e-15)
    assert state(ALL_HOUSING, "gini_tracts") == pytest.approx(0.0, abs=1e-15)
    # Share denominators are the program's units in the area.
    shares = table[
        table["metric"].str.startswith("share_in_") & (table["geography_level"] == "state")
    ]
    assert set(shares.loc[shares["program"] == "public_housing", "denominator"]) == {100.0}
    # Towns have no across-towns balance; town Two's units are all in D (non-white 0.55).
    assert metric(table, "public_housing", "town", "T2", "share_in_majority_nonwhite") == 1.0
    assert not table[(table["geography_level"] == "town")]["metric"].str.endswith("towns").any()


def test_an_area_without_units_reports_only_its_count():
    units = pd.DataFrame({"geoid": ["A"], "public_housing": [5.0]})
    table = siting_metrics(synthetic_tracts(), units, ["public_housing"], levels=LEVELS)
    town_two = table[(table["geography_id"] == "T2") & (table["program"] == "public_housing")]
    assert town_two[["metric", "value"]].values.tolist() == [["units", 0.0]]


@pytest.mark.parametrize(
    ("units", "pattern"),
    [
        (pd.DataFrame({"geoid": ["A"]}), r"missing column\(s\) \['public_housing'\]"),
        (pd.DataFrame({"geoid": ["Z"], "public_housing": [1.0]}), r"not in the tract table"),
        (pd.DataFrame({"geoid": ["A", "A"], "public_housing": [1.0, 2.0]}), r"A appears twice"),
        (pd.DataFrame({"geoid": ["B"], "public_housing": [-1.0]}), r"negative for tract B"),
        (pd.DataFrame({"geoid": ["B"], "public_housing": [np.nan]}), r"missing or negative"),
    ],
)
def test_bad_unit_tables_are_rejected(units, pattern):
    with pytest.raises(ValueError, match=pattern):
        siting_metrics(synthetic_tracts(), units, ["public_housing"], levels=LEVELS)


def test_tract_table_needs_its_columns():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['recap'\]"):
        siting_metrics(
            synthetic_tracts().drop(columns="recap"), synthetic_units(), ["public_housing"],
            levels=LEVELS,
        )  # fmt: skip


def test_a_suppressed_program_is_measured_over_its_known_tracts():
    # Synthetic: vouchers withheld in tract D. The metrics cover A, B and C (30, 10 and 0
    # vouchers: C is unlisted, so none; 100 + 300 + 400 = 800 homes) and count D in
    # tracts_suppressed.
    units = pd.DataFrame(
        {"geoid": ["A", "B", "D"], "public_housing": [50.0, 10.0, 40.0],
         "vouchers": [30.0, 10.0, np.nan]}
    )  # fmt: skip
    table = siting_metrics(
        synthetic_tracts(), units, ["public_housing", "vouchers"], levels=LEVELS,
        suppressed=["vouchers"],
    )  # fmt: skip
    assert metric(table, "vouchers", "state", "09", "units") == 40
    assert metric(table, "vouchers", "state", "09", "tracts_suppressed") == 1
    suppressed = table[(table["metric"] == "tracts_suppressed") & (table["geography_id"] == "09")]
    assert suppressed["denominator"].tolist() == [4.0]
    # R/ECAP A holds 30 of 40; majority non-white among A, B, C: A only.
    assert metric(table, "vouchers", "state", "09", "share_in_recap") == pytest.approx(0.75)
    assert metric(table, "vouchers", "state", "09", "share_in_majority_nonwhite") == 0.75
    # D over A, B, C: ½(|.75 − 100/800| + |.25 − 300/800| + |0 − 400/800|) = 0.625.
    assert metric(table, "vouchers", "state", "09", "dissimilarity_tracts") == pytest.approx(0.625)
    # Towns over known tracts: One 40 units / 400 homes, Two 0 / 400: D = ½(|1 − .5| + .5).
    assert metric(table, "vouchers", "state", "09", "dissimilarity_towns") == pytest.approx(0.5)
    # Town Two: C has none, D is withheld.
    assert metric(table, "vouchers", "town", "T2", "tracts_suppressed") == 1
    assert metric(table, "vouchers", "town", "T2", "units") == 0
    # Programs not declared suppressible still refuse a missing count, and nothing else
    # gets a tracts_suppressed row.
    assert set(table.loc[table["metric"] == "tracts_suppressed", "program"]) == {"vouchers"}
    with pytest.raises(ValueError, match="vouchers is missing or negative for tract D"):
        siting_metrics(synthetic_tracts(), units, ["vouchers"], levels=LEVELS)


def test_concentration_gini_counts_units_where_no_homes_are_recorded():
    # Synthetic: all units in an area with no recorded homes; the Lorenz curve stays at 0
    # until the last step, so the Gini is 1 − 0 = 1.
    assert concentration_gini([0, 0, 10], [50, 50, 0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="part: the total is 0"):
        concentration_gini([0, 0], [1, 2])
    with pytest.raises(ValueError, match="whole: counts must be finite"):
        concentration_gini([1, 0], [1, -2])


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=2, max_size=30))
def test_concentration_gini_is_the_segregation_gini_scaled(pairs):
    # With no area holding more units than homes, G_conc = G_seg · (1 − S/H).
    part = np.array([min(s, h) for s, h in pairs], dtype=float)
    whole = np.array([h for _, h in pairs], dtype=float)
    if part.sum() == 0 or part.sum() == whole.sum():
        return
    expected = gini(part, whole) * (1 - part.sum() / whole.sum())
    assert concentration_gini(part, whole) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def synthetic_list() -> pd.DataFrame:
    """Synthetic 8-30g rows: 95 of 1,000 (9.5%, 5 short), 200 of 2,000 (exactly 10%), 10 of
    300 (20 short)."""
    return pd.DataFrame(
        {
            "year": 2019,
            "town_geoid": ["T1", "T2", "T3"],
            "housing_units": [1000, 2000, 300],
            "total_assisted": [95, 200, 10],
        }
    )


def test_appeals_gap_hand_computed():
    gap = appeals_gap(synthetic_list())
    assert gap["below_threshold"].tolist() == [True, False, True]
    assert gap["units_to_threshold"].tolist() == [5, 0, 20]
    assert gap["assisted_share"].tolist() == pytest.approx([0.095, 0.1, 10 / 300])


def test_appeals_summary_counts_towns_below_the_threshold_per_area():
    tracts = synthetic_tracts()
    gap = appeals_gap(synthetic_list().iloc[:2])
    summary = appeals_summary(gap, tracts, levels=LEVELS)
    values = dict(zip(summary["metric"], summary["value"], strict=True))
    assert values == {"towns": 2.0, "towns_below_10_percent": 1.0, "units_to_10_percent": 5.0}
    assert set(summary["program"]) == {"cgs_8_30g"} and set(summary["year"]) == {2019}
    with pytest.raises(ValueError, match="town T3 has no tract"):
        appeals_summary(appeals_gap(synthetic_list()), tracts, levels=LEVELS)


def test_units_in_tracts_without_rates_are_reported_as_unclassified():
    # Synthetic: tract C loses its poverty rate and gets 10 of the 110 units.
    tracts = synthetic_tracts()
    tracts.loc[2, "poverty_rate"] = np.nan
    units = pd.concat([synthetic_units(), pd.DataFrame({"geoid": ["C"], "public_housing": [10.0]})])
    table = siting_metrics(tracts, units, ["public_housing"], levels=LEVELS)
    assert metric(table, "public_housing", "state", "09", "share_unclassified") == pytest.approx(
        10 / 110
    )
    assert metric(table, ALL_HOUSING, "state", "09", "share_unclassified") == pytest.approx(0.4)


def test_a_town_without_counts_is_neither_below_nor_above_and_stops_the_summary():
    towns = synthetic_list()
    towns.loc[0, "total_assisted"] = np.nan
    gap = appeals_gap(towns)
    assert pd.isna(gap.loc[0, "below_threshold"]) and pd.isna(gap.loc[0, "units_to_threshold"])
    with pytest.raises(ValueError, match="town T1 has no assisted share"):
        appeals_summary(gap.iloc[:2], synthetic_tracts(), levels=LEVELS)


def test_areas_of_a_cbsa_reaching_outside_the_run_are_left_out():
    tracts = synthetic_tracts().assign(
        cbsa_geoid="49340", cbsa_name="Worcester, MA-CT", cbsa_complete=False
    )
    table = siting_metrics(
        tracts, synthetic_units(), ["public_housing"],
        levels={**LEVELS, "cbsa": ("cbsa_geoid", "cbsa_name")},
    )  # fmt: skip
    assert "cbsa" not in set(table["geography_level"])
