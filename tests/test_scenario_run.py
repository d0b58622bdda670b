"""Tests for housing_segregation.scenario_run: outcomes, Δ and its intervals, and a whole
scenario on Connecticut's real 2023 tracts (their published counts and MOEs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from housing_segregation import allocation, recap, scenario_run, scenarios
from housing_segregation.measure import compute_indices

RECAP_SETTINGS = {
    "nonwhite_share_in_cbsa": 0.5,
    "nonwhite_share_outside_cbsa": 0.2,
    "poverty_rate_floor": 0.4,
    "cbsa_multiple": 3.0,
}
GROUPS = ["black_nh", "hispanic"]


def test_batched_recap_flags_equal_hud_rule_on_real_tracts(ct_tracts_2023):
    # Oracle: recap.flag_recaps on Connecticut's 2023 tracts, and on the same tracts with the
    # poor residents of every other tract left out (halving all would move each CBSA's
    # threshold in step); the batch path must agree row by row, each row on its own.
    tracts = ct_tracts_2023.reset_index(drop=True)
    thinned = tracts.assign(below_poverty=tracts["below_poverty"].where(tracts.index % 2 == 0, 0))
    expected = [recap.flag_recaps(frame, **RECAP_SETTINGS)["recap"].to_numpy()
                for frame in (tracts, thinned)]  # fmt: skip
    cbsa = tracts["cbsa_geoid"].astype("string").str.strip()
    codes = pd.factorize(cbsa.mask(cbsa == ""))[0]
    below = np.stack([tracts["below_poverty"], thinned["below_poverty"]]).astype(float)
    universe = np.stack([tracts["poverty_universe"]] * 2).astype(float)
    thresholds = recap.recap_thresholds(universe, below, codes, **RECAP_SETTINGS)
    flags = recap.recap_flags(
        np.stack([tracts["total"]] * 2), np.stack([tracts["nonwhite"]] * 2), universe, below,
        thresholds,
    )  # fmt: skip
    assert expected[0].sum() == 43 and expected[1].sum() != 43
    assert np.array_equal(flags[0], expected[0])
    assert np.array_equal(flags[1], expected[1])


def test_recap_rule_holds_other_states_tracts_fixed(ct_tracts_2023):
    # SYNTHETIC other-state tracts for Worcester, MA-CT (49340): 200 tracts with rates
    # summing to 2.0 pull its mean down (from Connecticut's tracts alone) towards 0.01, so
    # its threshold drops below 40%. The rule's baseline flags must be flag_recaps' with
    # the same tracts elsewhere, and recomputing on the published counts must agree.
    tracts = ct_tracts_2023.reset_index(drop=True)
    elsewhere = pd.DataFrame(
        {"rated_tracts": [200], "rate_sum": [2.0], "coverage": ["complete"]},
        index=pd.Index(["49340"], name="cbsa_geoid"),
    )
    expected = recap.flag_recaps(tracts, **RECAP_SETTINGS, elsewhere=elsewhere)
    alone = recap.flag_recaps(tracts, **RECAP_SETTINGS)
    worcester = (tracts["cbsa_geoid"] == "49340").to_numpy()
    assert (expected["poverty_threshold"][worcester] < alone["poverty_threshold"][worcester]).all()
    published = {name: tracts[name].to_numpy(float) for name in scenarios.PARTS}
    rule = scenario_run.RecapRule.of(tracts, published, RECAP_SETTINGS, elsewhere)
    assert np.array_equal(rule.baseline_flags, expected["recap"].to_numpy())
    np.testing.assert_allclose(rule.baseline_thresholds[0], expected["poverty_threshold"],
                               rtol=1e-12)  # fmt: skip
    recomputed = rule.flags(scenarios.with_composites(published))
    assert np.array_equal(recomputed, expected["recap"].to_numpy())


def test_delta_intervals_come_from_paired_draws():
    # Synthetic: baseline draws 10 + noise, scenario = baseline − 1 in every draw: Δ is −1
    # with no spread at all, though each side varies.
    noise = np.random.default_rng(0).normal(0, 1, 500)
    key = ("dissimilarity:black_nh:white_nh", "state", "09")
    baseline = scenario_run.Measured({key: (10.0, 10 + noise)})
    scenario = scenario_run.Measured({key: (9.0, 9 + noise)})
    compared = scenario_run.compare("less", baseline, scenario, 0.9, year=2023)
    row = compared.iloc[0]
    # The contract's columns, the year, then the p-value that scenario_tests.csv takes.
    assert list(compared.columns) == [
        "scenario", "metric", "geography_level", "geography_id", "baseline", "value", "delta",
        "delta_ci_low", "delta_ci_high", "year", "delta_p_value",
    ]  # fmt: skip
    assert row["year"] == 2023
    assert row["delta_p_value"] == pytest.approx(2 / 501)
    assert row["delta"] == pytest.approx(-1.0)
    assert row["delta_ci_low"] == pytest.approx(-1.0) and row["delta_ci_high"] == pytest.approx(
        -1.0
    )


def test_measured_outcomes_survive_a_round_trip(tmp_path):
    measured = scenario_run.Measured(
        {("recap_tracts", "state", "09"): (43.0, np.arange(5.0)), ("x:y", "town", "1"): (1.5, None)}
    )
    scenario_run.save_measured(measured, tmp_path / "m.npz")
    loaded = scenario_run.load_measured(tmp_path / "m.npz")
    assert loaded.values.keys() == measured.values.keys()
    assert np.array_equal(loaded.values[("recap_tracts", "state", "09")][1], np.arange(5.0))
    assert loaded.values[("x:y", "town", "1")] == (1.5, None)


@pytest.fixture(scope="module")
def ct_run(ct_tracts_2023):
    """Connecticut 2023 with 30 draws: real counts and MOEs; R/ECAPs from the HUD rule; no
    assisted units or town list, so towns fall back to the ACS homes."""
    tracts = ct_tracts_2023.reset_index(drop=True)
    recaps = recap.flag_recaps(tracts, **RECAP_SETTINGS)
    by_tract = tracts[["geoid"]].assign(assisted_units_total=0.0)
    context = scenario_run.scenario_context(
        tracts, recaps, by_tract, region_column="planning_region_geoid"
    )
    return scenario_run.prepare_run(
        context, tracts, draws=30, seed=[20231127, 2023, 9], interval_level=0.9,
        groups=GROUPS, reference_group="white_nh", minimum_units={"town": 3},
        recap_settings=RECAP_SETTINGS,
    )  # fmt: skip


def test_baseline_is_the_measurement_stage(ct_run, ct_tracts_2023):
    # The baseline's point values are indices.csv's, row for row.
    baseline = ct_run.baseline()
    indices = compute_indices(
        ct_tracts_2023, groups=GROUPS, reference_group="white_nh", minimum_units={"town": 3}
    )
    for row in indices.itertuples():
        parts = [row.index] + ([row.group] if row.group != "multigroup" else [])
        parts += [row.reference_group] if row.reference_group else []
        key = (":".join(parts), row.geography_level, row.geography_id)
        assert baseline.values[key][0] == pytest.approx(row.value, abs=1e-12), key
    assert baseline.values[("recap_tracts", "state", "09")][0] == 43


def test_a_scenario_run_reports_every_outcome_and_reproduces(ct_run):
    baseline = ct_run.baseline()
    steps = [{"step": "income_mixing", "households": 2000}]
    first = ct_run.scenario("mixing", steps, baseline)
    again = ct_run.scenario("mixing", steps, baseline)
    pd.testing.assert_frame_equal(first.table, again.table)
    table = first.table.set_index(["metric", "geography_level", "geography_id"])
    # Non-poor households in the poorest tracts lower poverty segregation.
    poverty = table.loc[("dissimilarity:below_poverty:above_poverty", "state", "09")]
    assert poverty["delta"] < 0
    assert poverty["delta_ci_low"] <= poverty["delta"] <= poverty["delta_ci_high"]
    assert poverty["delta_ci_high"] < 0
    # Every outcome family is there, at the levels above towns and for towns.
    metrics = set(first.table["metric"])
    for name in ("recap_tracts", "recap_population", "tracts_displacement_risk",
                 "low_poverty_exposure:black_nh", "towns_at_or_above_10_percent",
                 "assisted_percent", "multigroup_dissimilarity"):  # fmt: skip
        assert name in metrics, name
    assert set(first.table["geography_level"]) == {
        "state", "county", "planning_region", "cbsa", "town"
    }  # fmt: skip
    # The tract table: persons added only where poverty is 40% or more.
    tracts = first.tracts
    added = tracts["persons"] - tracts["persons_baseline"]
    households = added / ct_run.context.persons_per_household
    assert households.sum() == pytest.approx(2000)
    assert np.allclose(households, households.round())  # whole households
    poor = ct_run.context.tracts["poverty_rate"].fillna(0).to_numpy() >= 0.4
    assert (added[~poor].abs() < 1e-9).all()
    assert tracts["recap_share_of_draws"].between(0, 1).all()


def test_delta_p_values_hand_computed():
    # Draws 1..5 (mean 3) re-centred on Δ = 3: 1..5, none at or below 0 -> 2 (0 + 1) / 6.
    assert scenario_run.delta_p_value(3.0, np.arange(1.0, 6.0)) == pytest.approx(1 / 3)
    # On Δ = 1: −1, 0, 1, 2, 3 -> two at or below 0, four at or above: 2 (2 + 1) / 6 = 1.
    assert scenario_run.delta_p_value(1.0, np.arange(1.0, 6.0)) == 1.0
    # No spread: Δ = −1 is as far from 0 as the draws allow; Δ = 0 is no change.
    assert scenario_run.delta_p_value(-1.0, np.full(99, -1.0)) == pytest.approx(2 / 100)
    assert scenario_run.delta_p_value(0.0, np.zeros(99)) == 1.0
    assert np.isnan(scenario_run.delta_p_value(0.5, np.array([np.nan, 1.0])))
    # A count that rarely moves: Δ = 0 with 19 draws of +1 in 1,000. The interval holds 0,
    # so the test must not reject (it did, at p = 0.04, when counting the near tail).
    rare = np.r_[np.zeros(981), np.ones(19)]
    assert scenario_run.delta_p_value(0.0, rare) == 1.0
    # Δ = 1 with draws 0 (981) or 1 (19): re-centred 0.981 or 1.981; none at or below 0.
    assert scenario_run.delta_p_value(1.0, rare) == pytest.approx(2 / 1001)


def test_delta_tests_adjust_for_the_false_discovery_rate():
    # Benjamini-Hochberg by hand: sorted p .01, .03, .04, .5 -> p m / rank .04, .06, .0533,
    # .5 -> running minimum from the top .04, .0533, .0533, .5.
    compared = pd.DataFrame(
        {"scenario": "s", "metric": list("abcde"), "geography_level": "state",
         "geography_id": "09", "delta": [1.0, 2.0, 3.0, 4.0, 0.0],
         "delta_p_value": [0.01, 0.04, 0.03, 0.5, np.nan], "year": 2023}
    )  # fmt: skip
    tests = scenario_run.delta_tests(compared, 0.9)
    assert list(tests.columns) == scenario_run.TEST_COLUMNS
    assert tests["delta_p_value_adjusted"].tolist()[:4] == pytest.approx(
        [0.04, 0.16 / 3, 0.16 / 3, 0.5]
    )
    assert tests["differs_from_zero"].tolist()[:4] == [True, True, True, False]
    assert pd.isna(tests["differs_from_zero"].iloc[4])


def test_allocation_rows_name_the_step_that_allocated_them():
    # Synthetic: a scenario of three steps, the first and third allocating; each step's town
    # table (two towns) is marked with its kind and its 1-based position in the scenario.
    def towns(units):
        return pd.DataFrame(
            {"town_geoid": ["0900100001", "0900100002"], "town_name": ["A", "B"],
             "region_geoid": "09001", "households": [100, 200], "housing_units": [100, 250],
             "assisted_units": [5.0, 30.0], "eligible": [True, False],
             "exclusion": ["", "at_threshold"], "score": np.nan, "cap": np.inf,
             "units": units}
        )  # fmt: skip

    state = scenarios.State(
        counts={}, assisted=np.zeros(2), vouchers=np.zeros((1, 2)),
        allocations=[towns([5, 0]), towns([2, 0])],
    )  # fmt: skip
    steps = [{"step": "gap_to_threshold"}, {"step": "rebalance"}, {"step": "fair_share"}]
    table = scenario_run._allocation_table("s", 2023, state, steps)
    assert list(table.columns) == allocation.ALLOCATION_COLUMNS
    assert table["step"].tolist() == ["gap_to_threshold"] * 2 + ["fair_share"] * 2
    assert table["step_number"].tolist() == [1, 1, 3, 3]
    assert table["year"].eq(2023).all() and table["geography_level"].eq("town").all()
    assert table["assisted_percent_after"].tolist() == pytest.approx([10.0, 12.0, 7.0, 12.0])
    # A town table without its allocating step is an error, not a guess.
    with pytest.raises(ValueError):
        scenario_run._allocation_table("s", 2023, state, steps[:1])
