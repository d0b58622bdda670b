"""Tests for housing_segregation.allocation: fair shares, caps and siting, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housing_segregation import allocation


def test_capped_shares_are_redistributed_until_none_is_over():
    # Synthetic: 100 units by weights 1:2:7. First split 10, 20, 70: the third is over its
    # cap of 60, so it gets 60 and 40 is re-split 1:2 (13.3, 26.7); now the second is over
    # 25, gets 25, and the first takes the last 15.
    shares = allocation.capped_proportional(100, [1, 2, 7], [np.inf, 25, 60])
    assert shares == pytest.approx([15, 25, 60])
    # One round: 25, 25, 50 with the second capped at 10 -> 90 re-split 1:2.
    assert allocation.capped_proportional(100, [1, 1, 2], [np.inf, 10, np.inf]) == pytest.approx(
        [30, 10, 60]
    )
    # Caps below the total: each gets its cap, 70 stay unplaced.
    assert allocation.capped_proportional(100, [1, 1], [10, 20]) == pytest.approx([10, 20])
    # No weight, no units.
    assert allocation.capped_proportional(10, [0, 1], [np.inf, np.inf]) == pytest.approx([0, 10])


@given(
    # Weights are zero or real amounts (households, scores): no subnormal floats, whose
    # shares underflow to nothing.
    st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 100)), min_size=1, max_size=12),
    st.lists(st.floats(0, 50), min_size=12, max_size=12),
    st.floats(0, 500),
)
@settings(max_examples=200, deadline=None)
def test_capped_shares_never_exceed_caps_and_place_what_fits(weights, caps, total):
    caps = np.array(caps[: len(weights)])
    shares = allocation.capped_proportional(total, weights, caps)
    assert (shares <= caps + 1e-9).all()
    assert (shares[np.array(weights) == 0] == 0).all()
    room = caps[np.array(weights) > 0].sum()
    assert shares.sum() == pytest.approx(min(total, room), abs=1e-6)


@pytest.mark.parametrize(
    ("weights", "caps", "pattern"),
    [([1, -1], [1, 1], "weights"), ([1, 1], [1, np.nan], "caps"), ([1], [1, 2], "one length")],
)
def test_capped_shares_reject_bad_input(weights, caps, pattern):
    with pytest.raises(ValueError, match=pattern):
        allocation.capped_proportional(1, weights, caps)


def test_whole_units_keep_the_total_by_largest_remainder():
    assert allocation.whole_units([0.4, 0.4, 0.2]).tolist() == [1, 0, 0]
    assert allocation.whole_units([1.5, 2.5]).tolist() == [2, 2]  # a tie goes to the first
    assert allocation.whole_units([2.7, 1.3, 3.0]).tolist() == [3, 1, 3]
    # A cap of 2.5 keeps the first at 2: its remainder goes to the next largest.
    assert allocation.whole_units([2.5, 1.25, 1.25], caps=[2.5, 9, 9]).tolist() == [2, 2, 1]


def synthetic_towns() -> pd.DataFrame:
    """Synthetic: three towns of one region.

    town  households  income  poverty  housing units  assisted  share
    T1    1,000       80,000  0.05     1,100          50        4.5%
    T2    3,000       50,000  0.15     3,200          100       3.1%
    T3    2,000       60,000  0.25     2,100          300       14.3%  (at 10%: excluded)
    """
    return pd.DataFrame(
        {
            "town_geoid": ["T1", "T2", "T3"],
            "town_name": ["One", "Two", "Three"],
            "region_geoid": "R",
            "households": [1000.0, 3000.0, 2000.0],
            "housing_units": [1100.0, 3200.0, 2100.0],
            "assisted_units": [50.0, 100.0, 300.0],
            "median_household_income": [80000.0, 50000.0, 60000.0],
            "poverty_rate": [0.05, 0.15, 0.25],
            "has_recap": [False, False, False],
        }
    )


def test_fair_share_scores_caps_and_exclusions_hand_computed():
    weights = {"households": 1.0, "income_capacity": 1.0, "low_poverty": 0.0, "deficit": 0.0}
    # Eligible: T1 and T2. Households 1,000 and 3,000 -> 0.25, 0.75; income above the lowest
    # eligible (50,000): 30,000 and 0 -> 1, 0. Scores: ½(0.25 + 1) = 0.625, ½(0.75) = 0.375.
    table = allocation.fair_share(synthetic_towns(), {"R": 1000}, weights=weights)
    assert table["score"].tolist() == pytest.approx([0.625, 0.375, 0.0])
    assert table["units"].tolist() == [625, 375, 0]
    assert table["exclusion"].tolist() == ["", "", "at_threshold"]
    # A cap of 500 units: T1 keeps 500, the 125 over it go to T2.
    capped = allocation.fair_share(synthetic_towns(), {"R": 1000}, weights=weights, cap_units=500)
    assert capped["units"].tolist() == [500, 500, 0]
    # Caps of 10% of households (100, 300) hold 400 of 1,000: 600 stay unplaced.
    short = allocation.fair_share(
        synthetic_towns(), {"R": 1000}, weights=weights, cap_share_of_households=0.1
    )
    assert short["units"].tolist() == [100, 300, 0]
    # Without the threshold exclusion T3 competes, and a poverty limit of 0.10 leaves T2 and
    # T3 out: T1 takes everything.
    poor = allocation.fair_share(
        synthetic_towns(), {"R": 1000}, weights=weights, exclude_at_threshold=False,
        max_poverty_rate=0.10,
    )  # fmt: skip
    assert poor["units"].tolist() == [1000, 0, 0]
    assert poor["exclusion"].tolist() == ["", "poverty", "poverty"]


def test_fair_share_deficit_and_low_poverty_factors():
    weights = {"deficit": 1.0, "low_poverty": 1.0}
    # Deficits to 10%: 110 − 50 = 60 and 320 − 100 = 220 -> 60/280, 220/280. Low poverty:
    # highest eligible rate 0.15 minus each: 0.10 and 0 -> 1, 0.
    table = allocation.fair_share(synthetic_towns(), {"R": 280}, weights=weights)
    expected = [0.5 * (60 / 280 + 1), 0.5 * (220 / 280)]
    assert table["score"].tolist()[:2] == pytest.approx(expected)
    assert table["units"].tolist() == [170, 110, 0]  # 280 x scores: 170, 110


def test_fair_share_rejects_unknown_factors_and_regions():
    with pytest.raises(ValueError, match=r"unknown factor\(s\) \['jobs'\]"):
        allocation.fair_share(synthetic_towns(), {"R": 1}, weights={"jobs": 1.0})
    with pytest.raises(ValueError, match=r"region\(s\) \['Q'\] have no town"):
        allocation.fair_share(synthetic_towns(), {"Q": 1}, weights={"households": 1.0})
    with pytest.raises(ValueError, match="missing column"):
        allocation.fair_share(synthetic_towns().drop(columns="has_recap"), {"R": 1},
                              weights={"households": 1.0})  # fmt: skip


def test_gap_to_threshold_hand_computed():
    table = allocation.gap_to_threshold(synthetic_towns())
    # ceil(0.10 x 1,100 − 50) = 60; ceil(320 − 100) = 220; T3 is above 10%.
    assert table["units"].tolist() == [60, 220, 0]
    assert table["eligible"].tolist() == [True, True, False]


def test_units_are_sited_in_proportion_to_tract_weights():
    tracts = pd.DataFrame({"geoid": ["a", "b", "c"], "town_geoid": ["T1", "T1", "T2"]})
    weights = pd.Series([3.0, 1.0, 5.0])
    sited = allocation.site_in_tracts(pd.Series({"T1": 10, "T2": 0}), tracts, weights)
    assert sited.tolist() == [8, 2, 0]  # 7.5 and 2.5: the tie goes to the first
    # A town whose tracts all weigh 0 spreads evenly.
    even = allocation.site_in_tracts(pd.Series({"T1": 4}), tracts, pd.Series([0.0, 0.0, 1.0]))
    assert even.tolist() == [2, 2, 0]
    with pytest.raises(ValueError, match="town T9 has 3 units but no tract"):
        allocation.site_in_tracts(pd.Series({"T9": 3}), tracts, weights)


def test_siting_weights_favour_low_poverty_renters_outside_recaps():
    tracts = pd.DataFrame(
        {"renters": [100.0, 100.0, 50.0], "households": [200.0, 150.0, 80.0],
         "poverty_rate": [0.2, 0.5, 0.0], "recap": [False, True, False]}
    )  # fmt: skip
    assert allocation.siting_weights(tracts).tolist() == pytest.approx([80.0, 0.0, 50.0])
    plain = allocation.siting_weights(
        tracts, capacity="households", avoid_recaps=False, low_poverty=False
    )
    assert plain.tolist() == [200.0, 150.0, 80.0]
    with pytest.raises(ValueError, match="capacity"):
        allocation.siting_weights(tracts, capacity="land")
