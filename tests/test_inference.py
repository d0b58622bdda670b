"""Tests for housing_segregation.inference: bias-corrected dissimilarity and the
random-allocation test.

Both are random, so PySAL ``segregation`` 2.5.4 is an oracle in distribution: estimates
from our generator and from PySAL's (the legacy global ``np.random``) must agree within a
tolerance set from the Monte Carlo standard error, which the tests measure rather than
assume. Deterministic fixtures (complete separation, a group spread exactly like the
population) pin the arithmetic, and a fixed seed must reproduce a result exactly.
PySAL's ``SingleValueTest`` runs with ``n_jobs=1``: its default spreads iterations over
loky workers, which ignore ``np.random.seed`` and cost ~5 s to start.
"""

from __future__ import annotations

import warnings
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from segregation.inference import SingleValueTest
from segregation.singlegroup import BiasCorrectedDissim, Dissim

from housing_segregation.geometric import delta
from housing_segregation.indices import atkinson, dissimilarity, gini, interaction, isolation
from housing_segregation.inference import (
    RandomAllocationTest,
    bias_corrected_dissimilarity,
    random_allocation_test,
)

#: Agreement within this many standard errors: a false alarm has probability < 1e-6.
Z = 5.0


def synthetic_counts(seed: int, n_units: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic whole-number counts: unit totals 50–3,000, group shares drawn from
    Beta(1, 4) (moderate segregation, D ≈ 0.32 for seed 0)."""
    rng = np.random.default_rng(seed)
    total = rng.integers(50, 3000, n_units)
    group = rng.binomial(total, rng.beta(1, 4, n_units))
    return group.astype(np.float64), total.astype(np.float64)


def null_counts(seed: int, n_units: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic counts drawn from the null itself: the group and the others allocated
    multinomially in proportion to the unit totals of :func:`synthetic_counts`."""
    group, total = synthetic_counts(seed, n_units)
    rng = np.random.default_rng(seed + 100)
    shares = total / total.sum()
    drawn = rng.multinomial(int(group.sum()), shares).astype(np.float64)
    return drawn, drawn + rng.multinomial(int((total - group).sum()), shares)


def pysal_bias_corrected(group, total, seed: int, draws: int = 500) -> float:
    np.random.seed(seed)  # noqa: NPY002 (PySAL draws from the legacy global generator)
    frame = pd.DataFrame({"g": group, "t": total})
    return float(BiasCorrectedDissim(frame, "g", "t", B=draws).statistic)


def pysal_systematic_test(group, total, seed: int, iterations: int = 99) -> SingleValueTest:
    np.random.seed(seed)  # noqa: NPY002 (PySAL draws from the legacy global generator)
    frame = pd.DataFrame({"g": group, "t": total})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SingleValueTest(
            Dissim(frame, "g", "t"),
            iterations_under_null=iterations,
            null_approach="systematic",
            two_tailed=False,
            n_jobs=1,
        )


# --------------------------------------------------------------------------------------------
# Bias-corrected dissimilarity
# --------------------------------------------------------------------------------------------


def test_complete_separation_needs_no_bias_correction():
    # Synthetic: the group (5 + 3) and the others (4 + 2) share no unit: D = 1. Every
    # simulation draws the group only into units 1 and 3 and the others only into 2 and 4,
    # so every D* = 1 and D_bc = 2 · 1 − 1 = 1 whatever the seed.
    for seed in range(3):
        value = bias_corrected_dissimilarity([5, 0, 3, 0], [5, 4, 3, 2], rng=seed)
        assert value == pytest.approx(1.0, abs=1e-12)


def test_bias_corrected_dissimilarity_is_reproducible_with_a_seed():
    group, total = synthetic_counts(0)
    first = bias_corrected_dissimilarity(group, total, rng=42)
    again = bias_corrected_dissimilarity(group, total, rng=np.random.default_rng(42))
    other = bias_corrected_dissimilarity(group, total, rng=43)
    assert type(first) is float
    np.testing.assert_array_equal(again, first)  # bit for bit
    assert other != pytest.approx(first, rel=1e-12, abs=0)


def bias_corrected_spread(group, total, seeds: int = 20) -> tuple[float, float]:
    """Mean and standard deviation of our estimate over ``seeds`` seeds: the SD is the Monte
    Carlo standard error of one estimate with the default 500 draws, PySAL's too."""
    values = [bias_corrected_dissimilarity(group, total, rng=seed) for seed in range(seeds)]
    return float(np.mean(values)), float(np.std(values, ddof=1))


@pytest.fixture(scope="module")
def sacramento(shared_data):
    tracts = gpd.read_file(shared_data / "sacramento" / "sacramento1.geojson")
    return tracts["HISP_"].to_numpy(np.float64), tracts["TOT_POP"].to_numpy(np.float64)


@pytest.mark.parametrize("data", ["synthetic", "sacramento"])
def test_bias_corrected_dissimilarity_agrees_with_pysal(data, request):
    """Ours (mean of 20 seeds) against one PySAL estimate (its own seed), both with 500
    draws: they differ by sampling noise of SD se·√(1 + 1/20), se the SD of one estimate."""
    group, total = (
        synthetic_counts(0) if data == "synthetic" else request.getfixturevalue("sacramento")
    )
    mean, standard_error = bias_corrected_spread(group, total)
    observed = dissimilarity(group, total - group)
    # The bias is real and the correction much larger than its noise (se ~1e-4 vs 1e-3).
    assert observed - mean > 5 * standard_error
    tolerance = Z * standard_error * np.sqrt(1 + 1 / 20)
    assert abs(pysal_bias_corrected(group, total, seed=0) - mean) <= tolerance
    if data == "sacramento":
        # The reference file's value from PySAL's old ComputeAll (seed 123): same estimator.
        assert abs(0.32141961 - mean) <= tolerance
        assert standard_error == pytest.approx(3.7e-5, rel=0.5)


def test_bias_corrected_dissimilarity_is_batched():
    group, total = synthetic_counts(1, 40)
    batch_group = np.stack([group, group, np.zeros_like(group), total])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined rows give NaN silently
        batch = bias_corrected_dissimilarity(batch_group, total, draws=300, rng=5)
    assert batch.shape == (4,)
    assert np.isnan(batch[2:]).all()  # no members; nobody outside the group
    mean, standard_error = bias_corrected_spread(group, total, seeds=10)
    # Each row draws its own group (the two equal rows share only the others' draws): they
    # differ, both near the 1-d estimate (300 draws: se · √(500/300)).
    assert batch[0] != pytest.approx(batch[1], rel=1e-12, abs=0)
    tolerance = Z * standard_error * np.sqrt(500 / 300 + 1 / 10)
    assert abs(batch[:2] - mean).max() <= tolerance
    cube = bias_corrected_dissimilarity(batch_group.reshape(2, 2, -1), total, draws=10, rng=5)
    assert cube.shape == (2, 2)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: bias_corrected_dissimilarity([0, 0], [3, 4], rng=0), r"^group: .*no members"),
        (lambda: bias_corrected_dissimilarity([3, 4], [3, 4], rng=0), r"^total: nobody outside"),
        (lambda: bias_corrected_dissimilarity([1.5, 2], [3, 4], rng=0), r"^group: .*whole"),
        (lambda: bias_corrected_dissimilarity([1, 2], [3, 4.2], rng=0), r"^total: .*whole"),
        (lambda: bias_corrected_dissimilarity([5, 2], [3, 4], rng=0), r"^group: exceeds total"),
        (lambda: bias_corrected_dissimilarity([1, 2], [3, 4], draws=0, rng=0), r"^draws: "),
        (lambda: bias_corrected_dissimilarity([1, 2], [3, 4], draws=2.0, rng=0), r"^draws: "),
        (lambda: bias_corrected_dissimilarity([1, 2], [3, 4], rng="seed"), r"^rng: "),
        (lambda: random_allocation_test([1, 2], [3, 4], permutations=-1, rng=0), r"^permut"),
        (lambda: random_allocation_test([1, 2], [3, 4.5], rng=0), r"^total: .*whole"),
        (lambda: random_allocation_test([1, 2], [3, 4], rng=1.5), r"^rng: "),
        (lambda: random_allocation_test([1, 2], [3, 4], rng=0, threads=0), r"^threads: "),
        (lambda: bias_corrected_dissimilarity([1, 2], [3, 4], rng=0, threads=1.0), r"^threads: "),
        (
            lambda: random_allocation_test([1, 2], [3, 4], index=lambda g, t: 0.0, rng=0),
            r"^index: expected a function whose second argument is named `other` or `total`",
        ),
        (lambda: random_allocation_test([1, 2], [3, 4], index=0.5, rng=0), r"^index: "),
    ],
)
def test_invalid_input_is_rejected_naming_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --------------------------------------------------------------------------------------------
# Random-allocation test
# --------------------------------------------------------------------------------------------


def test_a_group_spread_like_the_population_is_not_significant():
    # Synthetic: the group is exactly 1/5 of every unit (totals are multiples of 5), so
    # g_i/G = o_i/O = t_i/T and D = 0. Every simulated D is ≥ 0: p = (1 + B)/(1 + B) = 1.
    rng = np.random.default_rng(3)
    total = 5 * rng.integers(10, 400, 50)
    result = random_allocation_test(total // 5, total, permutations=199, rng=1)
    assert isinstance(result, RandomAllocationTest)
    assert result.statistic == pytest.approx(0.0, abs=1e-15)
    assert result.p_value == pytest.approx(1.0)
    assert result.null_mean > 0.01  # random allocation itself makes some D


def test_a_fully_concentrated_group_has_the_smallest_p_value():
    # Synthetic: 30 units of 200 people; the group fills units 0–4 alone and nobody else
    # lives there: D = 1. A random allocation of 1,000 group members and 5,000 others over
    # 30 units never separates them completely, so no simulated D reaches 1: p = 1/(1 + B).
    total = np.full(30, 200.0)
    group = np.zeros(30)
    group[:5] = 200
    statistic, p_value, null_mean = random_allocation_test(group, total, rng=2)
    assert statistic == pytest.approx(1.0)
    assert p_value == pytest.approx(1 / 1000)
    assert 0 < null_mean < 0.1


def test_random_allocation_test_is_reproducible_with_a_seed():
    group, total = synthetic_counts(4)
    first = random_allocation_test(group, total, rng=7)
    again = random_allocation_test(group, total, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(np.array(again), np.array(first))  # bit for bit
    assert random_allocation_test(group, total, rng=8).null_mean != pytest.approx(
        first.null_mean, rel=1e-12, abs=0
    )


@pytest.mark.parametrize("threads", [2, 3])
def test_results_do_not_depend_on_the_number_of_threads(threads):
    group, total = synthetic_counts(4)
    for function, options in (
        (random_allocation_test, {"permutations": 333}),
        (bias_corrected_dissimilarity, {"draws": 150}),
    ):
        alone = function(group, total, rng=11, threads=1, **options)
        shared = function(group, total, rng=11, threads=threads, **options)
        np.testing.assert_array_equal(np.array(shared), np.array(alone))  # bit for bit


class Recording:
    """dissimilarity(group, other), keeping every batch it is called on."""

    def __init__(self):
        self.calls: list[np.ndarray] = []

    def __call__(self, group, other):
        value = dissimilarity(group, other)
        self.calls.append(np.asarray(value))
        return value


def recorded_null(
    group, total, *, permutations: int, rng
) -> tuple[RandomAllocationTest, np.ndarray]:
    index = Recording()
    result = random_allocation_test(group, total, index=index, permutations=permutations, rng=rng)
    observed, *blocks = index.calls  # one call for the data, one per block of permutations
    assert observed.shape == () and all(block.ndim == 1 for block in blocks)
    null = np.concatenate(blocks)
    assert null.shape == (permutations,)
    return result, null


def test_p_value_and_null_mean_come_from_the_permutations():
    group, total = null_counts(5, 40)  # a p-value away from its floor and ceiling
    result, null = recorded_null(group, total, permutations=499, rng=9)
    assert 0.01 < result.p_value < 0.99
    assert result.p_value == pytest.approx((1 + (null >= result.statistic).sum()) / 500)
    assert result.null_mean == pytest.approx(null.mean(), rel=1e-12)


@pytest.mark.parametrize("scenario", ["segregated", "random"])
def test_null_distribution_agrees_with_pysal_systematic(scenario):
    """PySAL's SingleValueTest(null_approach="systematic") with 99 iterations against our 999
    permutations on 60 units: the same statistic, null distributions indistinguishable
    (two-sample KS), null means within 5 standard errors, and p-values within 5 SE of a
    binomial proportion. PySAL's one-sided p-value is #{null > D}/99, ours
    (1 + #{null ≥ D})/1000."""
    # "random": data drawn from the null itself, so p is uniform on (0, 1].
    group, total = synthetic_counts(6) if scenario == "segregated" else null_counts(6)
    pysal = pysal_systematic_test(group, total, seed=0)
    result, null = recorded_null(group, total, permutations=999, rng=0)
    theirs = np.asarray(pysal.est_sim, dtype=np.float64)
    assert result.statistic == pytest.approx(float(pysal.statistic), rel=0, abs=1e-12)
    assert stats.ks_2samp(null, theirs).pvalue > 1e-3
    spread = null.std(ddof=1)
    assert abs(result.null_mean - theirs.mean()) <= Z * spread * np.sqrt(1 / 999 + 1 / 99)
    p = result.p_value
    assert abs(p - pysal.p_value) <= Z * np.sqrt(p * (1 - p) * (1 / 999 + 1 / 99)) + 2 / 99
    if scenario == "segregated":
        assert p == pytest.approx(1 / 1000) and pysal.p_value == pytest.approx(0.0)


def test_any_index_of_the_engine_can_be_tested():
    """The index gets `other` and/or `total` by the names of its parameters, as in indices.py,
    so dissimilarity(group, other), gini(group, total), interaction(group, other, total) and
    partials of the geometric indices all work."""
    group, total = synthetic_counts(7, 30)
    area = np.random.default_rng(7).uniform(1e5, 1e7, 30)
    cases = {
        "gini": (gini, gini(group, total)),
        "isolation": (isolation, isolation(group, total)),
        "interaction": (interaction, interaction(group, total - group, total)),
        "atkinson_b0.1": (partial(atkinson, b=0.1), atkinson(group, total, b=0.1)),
        "delta": (partial(delta, area=area), delta(group, total, area)),
    }
    for name, (index, expected) in cases.items():
        result = random_allocation_test(group, total, index=index, permutations=99, rng=1)
        assert result.statistic == pytest.approx(expected, rel=1e-12), name
        assert 1 / 100 <= result.p_value <= 1, name
    # Evenness indices rise with segregation: this group is far from random (p at its floor).
    assert random_allocation_test(group, total, index=gini, permutations=99, rng=1).p_value == (
        pytest.approx(1 / 100)
    )


def test_random_allocation_test_is_batched():
    group, total = synthetic_counts(8, 50)
    batch_group = np.stack([group, group, np.zeros_like(group)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = random_allocation_test(batch_group, total, permutations=199, rng=3)
    for value in result:
        assert value.shape == (3,)
        assert np.isnan(value[2])  # no members: undefined
    single = random_allocation_test(group, total, permutations=199, rng=3)
    assert result.statistic[:2] == pytest.approx([single.statistic] * 2, rel=1e-12)
    assert result.p_value[:2] == pytest.approx([1 / 200] * 2)
    # Each row is its own simulation; the null means differ by noise only.
    assert result.null_mean[0] != pytest.approx(result.null_mean[1], rel=1e-12, abs=0)
    assert result.null_mean[:2] == pytest.approx([single.null_mean] * 2, rel=0.05)
