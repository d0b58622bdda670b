"""Monte Carlo draws over ACS margins of error."""

import numpy as np
import pandas as pd
import pytest

from housing_segregation.uncertainty import (
    COMPOSITES,
    POVERTY_PARTS,
    RACE_PARTS,
    draw_counts,
    interval,
    intervals,
    point_counts,
    simulate_tract_counts,
)


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_each_composite_sums_parts_of_one_partition(name):
    # simulate_tract_counts builds a composite from one partition's draws: a composite
    # mixing race and poverty parts would not be a count of any one universe.
    parts = set(COMPOSITES[name])
    assert parts <= set(RACE_PARTS) or parts <= set(POVERTY_PARTS)


def test_draws_have_the_estimate_as_mean_and_moe_over_1645_as_sd():
    rng = np.random.default_rng(1)
    # Synthetic: estimate 400, MOE 164.5 -> SE 100; mean 400 and sd 100 within sampling error.
    drawn = draw_counts(np.array([400.0]), np.array([164.5]), draws=200_000, rng=rng)
    assert drawn.shape == (200_000, 1)
    assert drawn.mean() == pytest.approx(400, rel=0.005)
    assert drawn.std() == pytest.approx(100, rel=0.01)
    assert (drawn >= 0).all()


def test_zero_estimates_and_zero_or_missing_moes_stay_fixed():
    rng = np.random.default_rng(2)
    drawn = draw_counts(
        np.array([0.0, 50.0, 50.0]), np.array([12.0, 0.0, np.nan]), draws=5, rng=rng
    )
    assert (drawn == np.array([0.0, 50.0, 50.0])).all()


def test_large_moes_never_give_negative_counts():
    rng = np.random.default_rng(3)
    drawn = draw_counts(np.array([5.0]), np.array([80.0]), draws=100_000, rng=rng)
    assert (drawn >= 0).all()
    # The mean is still the estimate: SE 80/1.645 = 48.6, so the mean of 100,000 draws is
    # within 4 x 48.6 / sqrt(100,000) = 0.61 of 5.
    assert drawn.mean() == pytest.approx(5, abs=0.62)


def test_bad_inputs_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="estimates"):
        draw_counts(np.array([-1.0]), np.array([1.0]), draws=2, rng=rng)
    with pytest.raises(ValueError, match="moes"):
        draw_counts(np.array([1.0]), np.array([-1.0]), draws=2, rng=rng)
    with pytest.raises(ValueError, match="differ in shape"):
        draw_counts(np.array([1.0, 2.0]), np.array([1.0]), draws=2, rng=rng)


@pytest.fixture
def tracts():
    # Synthetic: 3 tracts, every part 10 + tract index with MOE 5.
    columns = {}
    for part in (*RACE_PARTS, *POVERTY_PARTS):
        columns[part] = [10.0, 11.0, 12.0]
        columns[f"{part}_moe"] = [5.0, 5.0, 5.0]
    return pd.DataFrame(columns)


def test_totals_are_the_sums_of_their_drawn_parts(tracts):
    simulated = simulate_tract_counts(tracts, draws=50, seed=[7, 2023, 9])
    total = sum(simulated[part] for part in RACE_PARTS)
    assert np.allclose(simulated["total"], total)
    assert np.allclose(simulated["nonwhite"], total - simulated["white_nh"])
    assert np.allclose(
        simulated["below_poverty"] + simulated["above_poverty"], simulated["poverty_universe"]
    )
    assert simulated["total"].shape == (50, 3)


def test_same_seed_same_draws_other_seed_other_draws(tracts):
    first = simulate_tract_counts(tracts, draws=20, seed=[1, 2023, 9])
    again = simulate_tract_counts(tracts, draws=20, seed=[1, 2023, 9])
    other = simulate_tract_counts(tracts, draws=20, seed=[1, 2019, 9])
    assert np.array_equal(first["white_nh"], again["white_nh"])
    assert not np.array_equal(first["white_nh"], other["white_nh"])


def test_point_counts_build_composites_from_parts(tracts):
    counts = point_counts(tracts, ["total", "white_nh", "below_150_poverty"])
    # total = 8 race parts; row 0: 8 x 10 = 80. below_150 = 4 bands: 4 x 10 = 40.
    assert counts["total"].tolist() == [80.0, 88.0, 96.0]
    assert counts["below_150_poverty"].tolist() == [40.0, 44.0, 48.0]


def test_interval_is_the_spread_of_the_draws_about_the_published_value():
    values = np.array([*np.arange(1.0, 101.0), np.nan])
    se, low, high = interval(values, 0.90, centre=40.0)
    # 1..100: mean 50.5; 5th and 95th percentiles (linear) 5.95 and 95.05, i.e. -44.55 and
    # +44.55 about the mean; re-centred on 40: 40 - 44.55 -> clipped to 0, and 84.55.
    assert low == pytest.approx(0.0)
    assert high == pytest.approx(84.55)
    assert se == pytest.approx(np.arange(1.0, 101.0).std(ddof=1))
    se, low, high = interval(values, 0.90, centre=60.0)
    assert (low, high) == (pytest.approx(15.45), pytest.approx(104.55))
    assert all(np.isnan(interval(np.array([np.nan, 1.0]), 0.9, centre=1.0)))


def test_interval_always_holds_the_published_value():
    # Synthetic discrete index: 95 draws at 0.70, 5 at 0.80 -> mean 0.705; deviations are
    # -0.005 (95%) and +0.095 (5%), so both the 5th and the 95th percentile sit below zero.
    draws = np.array([0.70] * 95 + [0.80] * 5)
    _, low, high = interval(draws, 0.90, centre=0.75)
    assert low == pytest.approx(0.745)
    assert high == pytest.approx(0.75)
    # Signed indices are not clipped at 0.
    _, low, _ = interval(np.array([-0.2, -0.1, 0.0, 0.1]), 0.9, centre=-0.05, floor=None)
    assert low < -0.05


def test_intervals_of_many_rows_equal_each_row_alone():
    # Synthetic: the rows above (1..100 with a NaN; the discrete index; a signed index),
    # a row with one defined draw, and a row whose published value is undefined.
    rows = [
        ([*np.arange(1.0, 101.0), np.nan], 40.0, 0.0),
        ([0.70] * 95 + [0.80] * 5 + [0.70], 0.75, 0.0),
        ([-0.2, -0.1, 0.0, 0.1] * 25 + [0.0], -0.05, None),
        ([np.nan] * 100 + [1.0], 1.0, 0.0),
        (list(np.arange(101.0)), np.nan, 0.0),
    ]
    values = np.array([row for row, _, _ in rows])
    floors = np.array([np.nan if f is None else f for *_, f in rows])
    together = intervals(values, 0.9, np.array([c for _, c, _ in rows]), floors)
    for position, (row, centre, floor) in enumerate(rows):
        alone = interval(np.array(row), 0.9, centre=centre, floor=floor)
        np.testing.assert_array_equal([part[position] for part in together], alone)
    assert np.isnan([part[3] for part in together]).all()
    assert np.isnan([part[4] for part in together]).all()
