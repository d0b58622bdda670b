"""Tests for housing_segregation.scenarios: each step's arithmetic on a hand-computed
synthetic region, conservation, capacity, jurisdiction and seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from housing_segregation import scenarios
from housing_segregation.uncertainty import POVERTY_PARTS, RACE_PARTS

#: Persons per household of the synthetic region: 700 people in 300 homes.
PERSONS = 7 / 3


def synthetic_context() -> scenarios.Context:
    """Synthetic: one region R, towns T1 (tracts A, B) and T2 (tract C).

    tract  white  black  poverty bins (persons)                 homes  renters  rate  R/ECAP
    A      100    100    <0.50: 50, 0.50-0.99: 50, 2.00+: 100    80     40      0.50  yes
    B      300    0      2.00+: 300                              120    30      0.00  no
    C      100    100    1.00-1.24: 100, 2.00+: 100              100    1000    0.00  no

    A holds 20 assisted units and 20 voucher households. 700 people in 300 homes: 7/3 each.
    """
    tracts = pd.DataFrame(
        {
            "geoid": ["A", "B", "C"],
            "total": [200.0, 300.0, 200.0],
            "town_geoid": ["T1", "T1", "T2"],
            "region_geoid": "R",
            "households": [80.0, 120.0, 100.0],
            "renters": [40.0, 30.0, 1000.0],
            "poverty_rate": [0.5, 0.0, 0.0],
            "recap": [True, False, False],
            "assisted_units": [20.0, 0.0, 0.0],
            "voucher_households": [20.0, 0.0, 0.0],
            "siting_model_weight": np.nan,
        }
    )
    towns = pd.DataFrame(
        {
            "town_geoid": ["T1", "T2"],
            "town_name": ["One", "Two"],
            "region_geoid": "R",
            "households": [200.0, 100.0],
            "housing_units": [1000.0, 500.0],
            "assisted_units": [90.0, 50.0],
            "median_household_income": [60000.0, 50000.0],
            "poverty_rate": [0.2, 0.0],
            "has_recap": [True, False],
        }
    )
    return scenarios.Context(tracts, towns)


def synthetic_counts() -> dict[str, np.ndarray]:
    counts = {part: np.zeros(3) for part in scenarios.PARTS}
    counts["white_nh"] = np.array([100.0, 300.0, 100.0])
    counts["black_nh"] = np.array([100.0, 0.0, 100.0])
    counts["poverty_ratio_under_0_50"] = np.array([50.0, 0.0, 0.0])
    counts["poverty_ratio_0_50_to_0_99"] = np.array([50.0, 0.0, 0.0])
    counts["poverty_ratio_1_00_to_1_24"] = np.array([0.0, 0.0, 100.0])
    counts["poverty_ratio_2_00_and_over"] = np.array([100.0, 300.0, 100.0])
    return counts


def point_state() -> scenarios.State:
    return scenarios.initial_state(synthetic_counts(), synthetic_context())


def drawn_state(draws: int = 50) -> scenarios.State:
    counts = {name: np.tile(values, (draws, 1)) for name, values in synthetic_counts().items()}
    return scenarios.initial_state(counts, synthetic_context())


def totals(state: scenarios.State) -> dict[str, np.ndarray]:
    """Each part's total over the tracts, per draw."""
    return {part: values.sum(axis=-1) for part, values in state.counts.items()}


def test_persons_per_household_is_the_regions():
    assert synthetic_context().persons_per_household == pytest.approx([PERSONS] * 3)


def test_gap_units_are_sited_and_filled_from_the_regional_low_income_pool():
    # T1 needs ceil(0.10 x 1,000 − 90) = 10 units, T2 none. A is an R/ECAP, so B (30
    # renters, no poverty) takes all 10. The low-income pool: half of A and half of C
    # (their shares below 200% of poverty) -> 100 white, 100 black: mix ½, ½. Its poverty
    # bins: 50 (<0.50), 50 (0.50-0.99), 100 (1.00-1.24) -> ¼, ¼, ½.
    context = synthetic_context()
    after = scenarios.apply_scenario(point_state(), context, [{"step": "gap_to_threshold"}],
                                     seed=None)  # fmt: skip
    assert after.assisted.tolist() == [20.0, 10.0, 0.0]
    persons = 10 * PERSONS
    assert after.counts["white_nh"][0] == pytest.approx([100, 300 + persons / 2, 100])
    assert after.counts["black_nh"][0] == pytest.approx([100, persons / 2, 100])
    assert after.counts["poverty_ratio_1_00_to_1_24"][0] == pytest.approx([0, persons / 2, 100])
    assert after.counts["poverty_ratio_under_0_50"][0] == pytest.approx([50, persons / 4, 0])
    table = after.allocations[0]
    assert table.set_index("town_geoid")["units"].to_dict() == {"T1": 10, "T2": 0}


def test_zero_sum_relocation_conserves_every_part():
    # The occupants leave A and C in proportion to their share of the pool (half each).
    steps = [{"step": "gap_to_threshold", "occupancy": {"relocation": "zero_sum"}}]
    before = point_state()
    after = scenarios.apply_scenario(before, synthetic_context(), steps, seed=None)
    persons = 10 * PERSONS
    assert after.counts["white_nh"][0] == pytest.approx(
        [100 - persons / 4, 300 + persons / 2, 100 - persons / 4]
    )
    # The bin <0.50 is only in A: all its movers come from A.
    assert after.counts["poverty_ratio_under_0_50"][0] == pytest.approx(
        [50 - persons / 4, persons / 4, 0]
    )
    for part, total in totals(before).items():
        assert totals(after)[part] == pytest.approx(total), part
    # In draws too: each draw's movers are drawn, then taken from the pool they came from.
    drawn = scenarios.apply_scenario(drawn_state(), synthetic_context(), steps, seed=[1, 2])
    for part, total in totals(drawn_state()).items():
        assert totals(drawn)[part] == pytest.approx(total), part
    # Net new supply adds the movers instead.
    added = scenarios.apply_scenario(before, synthetic_context(), [{"step": "gap_to_threshold"}],
                                     seed=None)  # fmt: skip
    assert sum(totals(added)[p] for p in RACE_PARTS) == pytest.approx(700 + persons)


def test_a_relocation_larger_than_the_pool_is_refused():
    context = synthetic_context()
    context.towns.loc[0, "housing_units"] = 2000.0  # T1 now needs 110 units: 257 people
    with pytest.raises(ValueError, match="moves 128 white_nh out of region R, whose low_income"):
        scenarios.apply_scenario(
            point_state(), context,
            [{"step": "gap_to_threshold", "occupancy": {"relocation": "zero_sum"}}], seed=None,
        )  # fmt: skip


def mobility(take_up: float, jurisdiction: str) -> list[dict]:
    return [{"step": "voucher_mobility", "take_up": take_up, "jurisdiction": jurisdiction}]


def test_mobility_respects_capacity_and_jurisdiction():
    # A (poverty 0.50) holds 20 vouchers; at take-up ½, 10 want to move. Destinations below
    # 10% poverty: B (room 10% of 30 renters = 3, in T1) and C (room 100, in T2).
    context = synthetic_context()
    in_town = scenarios.apply_scenario(point_state(), context, mobility(0.5, "town"), seed=None)
    # Within T1 only B's 3 places exist: 3 move, 7 stay.
    assert in_town.vouchers[0] == pytest.approx([17, 3, 0])
    # Movers carry A's low-income mix (white ½, black ½; bins <0.50 and 0.50-0.99 ½ each).
    moved = 3 * PERSONS
    assert in_town.counts["white_nh"][0] == pytest.approx([100 - moved / 2, 300 + moved / 2, 100])
    assert in_town.counts["poverty_ratio_under_0_50"][0] == pytest.approx(
        [50 - moved / 2, moved / 2, 0]
    )
    # Region-wide, the 103 places take all 10, shared by room: 10 x 3/103 and 10 x 100/103.
    region = scenarios.apply_scenario(point_state(), context, mobility(0.5, "region"), seed=None)
    assert region.vouchers[0] == pytest.approx([10, 30 / 103, 1000 / 103])
    for part, total in totals(point_state()).items():
        assert totals(region)[part] == pytest.approx(total), part


def test_drawn_mobility_stays_within_room_and_town():
    context = synthetic_context()
    start = drawn_state(200)
    in_town = scenarios.apply_scenario(start, context, mobility(0.5, "town"), seed=[7])
    arrived = in_town.vouchers - start.vouchers
    assert (arrived[:, 1] <= 3 + 1e-9).all()  # B's room
    assert (arrived[:, 2] == 0).all()  # C is in another town
    assert np.allclose(arrived.sum(axis=1), 0)  # vouchers move, none is made
    # Common random numbers: a higher take-up moves at least as many, draw by draw.
    low = scenarios.apply_scenario(start, context, mobility(0.15, "region"), seed=[7])
    high = scenarios.apply_scenario(start, context, mobility(0.53, "region"), seed=[7])
    assert (high.vouchers[:, 0] <= low.vouchers[:, 0]).all()
    assert low.vouchers[:, 0].mean() == pytest.approx(20 * 0.85, abs=0.5)


def test_seeds_reproduce_and_differ():
    steps = [{"step": "gap_to_threshold"}, *mobility(0.53, "region")]
    context = synthetic_context()
    first = scenarios.apply_scenario(drawn_state(), context, steps, seed=[3, 2023, 9])
    again = scenarios.apply_scenario(drawn_state(), context, steps, seed=[3, 2023, 9])
    other = scenarios.apply_scenario(drawn_state(), context, steps, seed=[4, 2023, 9])
    for part in scenarios.PARTS:
        assert np.array_equal(first.counts[part], again.counts[part]), part
    assert not np.array_equal(first.counts["black_nh"], other.counts["black_nh"])


def test_rebalance_moves_units_and_residents_out_of_recaps():
    # A quarter of A's 20 units move: 5 units to B (weight 30 renters) and C (weight 1,000),
    # 5 x 30/1030 = 0.15 and 4.85, rounded to 0 and 5. Their residents carry A's
    # low-income mix.
    after = scenarios.apply_scenario(point_state(), synthetic_context(),
                                     [{"step": "rebalance", "share": 0.25}], seed=None)  # fmt: skip
    assert after.assisted.tolist() == [15.0, 0.0, 5.0]
    moved = 5 * PERSONS
    assert after.counts["black_nh"][0] == pytest.approx([100 - moved / 2, 0, 100 + moved / 2])
    for part, total in totals(point_state()).items():
        assert totals(after)[part] == pytest.approx(total), part


def test_income_mixing_adds_non_poor_households_and_flags_displacement_risk():
    # Only A has poverty of 40% or more: it gets all 10 households. The non-poor pool: half of
    # A (50 white, 50 black), all of B (300 white), half of C (50, 50) -> white 0.8, black 0.2.
    # 10 households are 12.5% of A's 80 homes, over the 10% threshold.
    steps = [{"step": "income_mixing", "households": 10}]
    after = scenarios.apply_scenario(point_state(), synthetic_context(), steps, seed=None)
    persons = 10 * PERSONS
    assert after.counts["white_nh"][0] == pytest.approx([100 + 0.8 * persons, 300, 100])
    assert after.counts["black_nh"][0] == pytest.approx([100 + 0.2 * persons, 0, 100])
    assert after.counts["poverty_ratio_2_00_and_over"][0] == pytest.approx(
        [100 + persons, 300, 100]
    )
    assert after.flags["displacement_risk"].tolist() == [True, False, False]
    relaxed = [{**steps[0], "displacement_threshold": 0.2}]
    calm = scenarios.apply_scenario(point_state(), synthetic_context(), relaxed, seed=None)
    assert not calm.flags["displacement_risk"].any()


def test_unknown_steps_and_bad_parameters_are_named():
    with pytest.raises(ValueError, match="step 1: unknown step 'teleport'"):
        scenarios.apply_scenario(point_state(), synthetic_context(), [{"step": "teleport"}],
                                 seed=None)  # fmt: skip
    with pytest.raises(ValueError, match="take_up must be in"):
        scenarios.apply_scenario(point_state(), synthetic_context(), mobility(1.5, "town"),
                                 seed=None)  # fmt: skip
    with pytest.raises(ValueError, match="missing column"):
        scenarios.Context(synthetic_context().tracts.drop(columns="renters"),
                          synthetic_context().towns)  # fmt: skip


def test_the_pools_estimate_race_within_income_by_tract_shares():
    races, bins = scenarios.tract_pools(
        {k: v[None, :] for k, v in synthetic_counts().items()}, "low_income"
    )
    white = RACE_PARTS.index("white_nh")
    assert races[0, :, white].tolist() == [50.0, 0.0, 50.0]
    assert bins[0, :, POVERTY_PARTS.index("poverty_ratio_2_00_and_over")].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="pool"):
        scenarios.tract_pools(synthetic_counts(), "rich")


def test_regional_targets_are_whole_and_add_up():
    # Synthetic: three regions with 1, 1 and 1 households split 100 units: 33.3 each, rounded
    # by largest remainder to 34, 33, 33.
    towns = pd.DataFrame(
        {"region_geoid": ["R1", "R2", "R3"], "households": [1.0, 1.0, 1.0],
         "housing_units": [10.0, 10.0, 40.0], "assisted_units": [0.0, 1.0, 0.0]}
    )  # fmt: skip
    assert scenarios.regional_targets(towns, 100, "households") == {
        "R1": 34.0, "R2": 33.0, "R3": 33.0
    }  # fmt: skip
    # By deficit to 10%: 1, 0 and 4 units short -> 20, 0, 80.
    assert scenarios.regional_targets(towns, 100, "deficit") == {"R1": 20.0, "R2": 0.0, "R3": 80.0}
    with pytest.raises(ValueError, match="split"):
        scenarios.regional_targets(towns, 100, "land")


def test_model_siting_uses_the_counterfactual_and_needs_it():
    context = synthetic_context()
    with pytest.raises(ValueError, match="no siting-model counterfactual"):
        scenarios.tract_weights(context, {"method": "model"})
    context.tracts["siting_model_weight"] = [1.0, np.nan, 3.0]
    weights = scenarios.tract_weights(context, {"method": "model"})
    assert weights.tolist() == [1.0, 0.0, 3.0]


def test_units_can_be_filled_from_the_residents_of_assisted_housing():
    # Only A holds assisted units: the pool is A's low-income mix (white ½, black ½; bins
    # <0.50 and 0.50-0.99 ½ each). T1's 10 gap units go to B.
    steps = [{"step": "gap_to_threshold", "occupancy": {"pool": "subsidized_residents"}}]
    after = scenarios.apply_scenario(point_state(), synthetic_context(), steps, seed=None)
    persons = 10 * PERSONS
    assert after.counts["black_nh"][0] == pytest.approx([100, persons / 2, 100])
    assert after.counts["poverty_ratio_under_0_50"][0] == pytest.approx([50, persons / 2, 0])
    assert after.counts["poverty_ratio_1_00_to_1_24"][0] == pytest.approx([0, 0, 100])


def test_rebalance_a_number_of_units_or_out_of_concentrated_towns():
    # Four units leave A: 4 x 30/1030 and 4 x 1000/1030 -> 0.12 and 3.88, rounded 0 and 4.
    after = scenarios.apply_scenario(point_state(), synthetic_context(),
                                     [{"step": "rebalance", "units": 4}], seed=None)  # fmt: skip
    assert after.assisted.tolist() == [16.0, 0.0, 4.0]
    # Towns above 12% assisted are the sources: T1 at 150 of 1,000 (15%). A quarter of its
    # tracts' units (A's 20) leaves, for tracts of other towns only (C).
    context = synthetic_context()
    context.towns.loc[0, "assisted_units"] = 150.0
    steps = [{"step": "rebalance", "sources": "concentrated_towns", "concentration": 0.12}]
    moved = scenarios.apply_scenario(point_state(), context, steps, seed=None)
    assert moved.assisted.tolist() == [15.0, 0.0, 5.0]


def test_rebalancing_more_units_than_the_sources_hold_is_refused():
    with pytest.raises(ValueError, match="25 units asked to move, the sources hold 20"):
        scenarios.apply_scenario(point_state(), synthetic_context(),
                                 [{"step": "rebalance", "units": 25}], seed=None)  # fmt: skip


def test_movers_beyond_a_tracts_count_do_not_create_people():
    # A's 100 assisted units hold 233 people by the region's household size, but A has only
    # 100 white and 100 black residents: only those present move, and every part's total is
    # conserved (before the fix the destinations received all 233).
    context = synthetic_context()
    context.tracts.loc[0, "assisted_units"] = 100.0
    start = scenarios.initial_state(synthetic_counts(), context)
    after = scenarios.apply_scenario(start, context, [{"step": "rebalance", "share": 1.0}],
                                     seed=None)  # fmt: skip
    for part, total in totals(start).items():
        assert totals(after)[part] == pytest.approx(total), part
    assert after.counts["black_nh"][0][0] == pytest.approx(0.0)


def test_a_tract_without_a_town_is_its_own_jurisdiction():
    # Synthetic: tract D has no town, 20 voucher holders and 50% poverty. Within towns its
    # holders have nowhere to go (it has no low-poverty tract of its own): they stay, and
    # none lands in T2.
    context = synthetic_context()
    townless = context.tracts.iloc[[0]].assign(geoid="D", town_geoid=None)
    tracts = pd.concat([context.tracts, townless], ignore_index=True)
    context = scenarios.Context(tracts, context.towns)
    counts = {k: np.r_[v, v[0]] for k, v in synthetic_counts().items()}
    after = scenarios.apply_scenario(scenarios.initial_state(counts, context), context,
                                     mobility(0.5, "town"), seed=None)  # fmt: skip
    assert after.vouchers[0] == pytest.approx([17, 3, 0, 20])
