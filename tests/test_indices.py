"""Tests for housing_segregation.indices (and measure.compute_indices on real data).

Three layers of evidence:
- small synthetic fixtures whose expected values are worked out by hand in comments;
- properties (hypothesis) and an independent oracle, PySAL ``segregation``, on random data;
- published reference values (Sacramento, from PySAL's own tests) and the real Connecticut
  2023 tract table, every index value of which is checked against PySAL or plain numpy.

Every index also takes batches (leading axes = draws): each row must equal the 1-d call on
that row, and be NaN exactly where the 1-d call raises because the index is undefined.
PySAL's Gini compiles with numba for 10–20 s on its first call; the file takes about 30 s.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segregation.multigroup import MultiDissim, MultiInfoTheory
from segregation.singlegroup import (
    Atkinson,
    CorrelationR,
    Dissim,
    Entropy,
    Gini,
    Interaction,
    Isolation,
)
from segregation.singlegroup.atkinson import _atkinson

from housing_segregation import indices
from housing_segregation.indices import (
    atkinson,
    correlation_ratio,
    dissimilarity,
    entropy,
    gini,
    interaction,
    isolation,
    multigroup_dissimilarity,
    multigroup_entropy,
    multigroup_indices,
    mutual_information,
    mutual_information_decomposition,
    single_group_indices,
)
from housing_segregation.measure import compute_indices

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


def test_gini_hand_computed():
    # Synthetic: 3 units, t = 10, 10, 20, g = 2, 6, 4 → p = .2, .6, .2; G = 12, T = 40, P = .3.
    # Σ_i Σ_j t_i t_j |p_i − p_j| = 2 · [10·10·.4 (units 1,2) + 10·20·0 (1,3) + 10·20·.4 (2,3)]
    #                             = 2 · (40 + 0 + 80) = 240.
    # Denominator 2 T² P (1 − P) = 2 · 1600 · .3 · .7 = 672.  Gini = 240/672 = 5/14 ≈ 0.3571429.
    assert gini([2, 6, 4], [10, 10, 20]) == pytest.approx(5 / 14, rel=1e-14)


def test_gini_of_complete_separation_is_one_and_of_even_spread_zero():
    # Synthetic: p = 1, 0, 1 → pairs (1,2) and (2,3) differ by 1: Σ = 2·(4·5 + 5·3) = 70;
    # G = 7, T = 12: 2 T² P(1−P) = 2·7·5 = 70 → 1. Even spread: every p = .25 → 0.
    assert gini([4, 0, 3], [4, 5, 3]) == pytest.approx(1.0, rel=1e-14)
    assert gini([1, 2, 5], [4, 8, 20]) == pytest.approx(0.0, abs=1e-15)


def test_entropy_hand_computed_with_single_group_units():
    # Synthetic: t = 10, 20, 10, g = 0, 10, 10 → p = 0, .5, 1; P = 20/40 = .5, E = ln 2.
    # E_i (0·ln 0 = 0): 0, ln 2, 0.  H = Σ t_i (E − E_i)/(E T)
    #   = (10·ln 2 + 20·0 + 10·ln 2)/(40 ln 2) = 20/40 = 0.5.
    # The two one-group units count fully; dropping them (old PySAL) would give 0.
    assert entropy([0, 10, 10], [10, 20, 10]) == pytest.approx(0.5, rel=1e-14)


def test_entropy_hand_computed_mixed_units():
    # Synthetic: t = 10, 10, g = 2, 8 → p = .2, .8; P = .5, E = ln 2.
    # E_1 = E_2 = h(.2) = −.2 ln .2 − .8 ln .8 = .3218876 + .1785148 = .5004024.
    # H = Σ t_i (E − h(.2))/(E T) = 1 − h(.2)/ln 2 = 1 − .7219281 = .2780719.
    h = -0.2 * math.log(0.2) - 0.8 * math.log(0.8)
    assert entropy([2, 8], [10, 10]) == pytest.approx(1 - h / math.log(2), rel=1e-14)
    assert entropy([2, 8], [10, 10]) == pytest.approx(0.2780719, abs=1e-7)


def test_atkinson_hand_computed_b_one_half():
    # Synthetic: t = 10, 10, g = 2, 8 → p = .2, .8; P = .5, T = 20, b = .5.
    # Σ (1−p)^.5 p^.5 t / (P T) = (√(.8·.2)·10 + √(.2·.8)·10)/10 = 2·.4·10/10 = .8.
    # A = 1 − P/(1−P) · .8^(1/(1−.5)) = 1 − 1 · .64 = .36.
    assert atkinson([2, 8], [10, 10]) == pytest.approx(0.36, rel=1e-14)
    assert atkinson([2, 8], [10, 10], b=0.5) == pytest.approx(0.36, rel=1e-14)


@pytest.mark.parametrize("b", [0.1, 0.5, 0.9])
def test_atkinson_hand_computed_over_b(b):
    # Synthetic: t = 10, 10, 20, g = 0, 10, 10 → p = 0, 1, .5; P = .5, P T = 20.
    # Units 1 (p = 0: p^b = 0) and 2 (1 − p = 0) add nothing; unit 3 adds
    # .5^(1−b) · .5^b · 20 = 10 for any b. Mean 10/20 = .5.
    # A = 1 − 1 · .5^(1/(1−b)):  b=.1 → 1 − .5^(10/9) ≈ .5373; b=.5 → .75; b=.9 → 1 − 1/1024.
    assert atkinson([0, 10, 10], [10, 10, 20], b=b) == pytest.approx(
        1 - 0.5 ** (1 / (1 - b)), rel=1e-14
    )


def test_correlation_ratio_hand_computed():
    # Synthetic: the isolation fixture, g = 8, 2, 5, t = 10, 10, 20: xPx = 161/300.
    # P = 15/40 = 3/8. η² = (xPx − P)/(1 − P) = (161/300 − 112.5/300)/(5/8)
    #    = (48.5/300)·(8/5) = 388/1500 = 97/375 ≈ 0.2586667.
    assert correlation_ratio([8, 2, 5], [10, 10, 20]) == pytest.approx(97 / 375, rel=1e-14)


def test_multigroup_dissimilarity_hand_computed():
    # Synthetic: 2 units × 3 groups, counts (6, 3, 1) and (2, 3, 5); t = 10, 10, N = 20.
    # P_k = 8/20, 6/20, 6/20 = .4, .3, .3; Σ P_k(1 − P_k) = .24 + .21 + .21 = .66.
    # p_1k = .6, .3, .1 ; p_2k = .2, .3, .5 → Σ t_i |p_ik − P_k| = 10(.2+0+.2) + 10(.2+0+.2) = 8.
    # D = 8 / (2 · 20 · .66) = 8/26.4 = 10/33 ≈ 0.3030303.
    assert multigroup_dissimilarity([[6, 3, 1], [2, 3, 5]]) == pytest.approx(10 / 33, rel=1e-14)


def test_mutual_information_hand_computed():
    # Synthetic: 2 units × 2 groups, counts (3, 1) and (1, 3); N = 8.
    # p_ug = 3/8, 1/8, 1/8, 3/8; p_u = p_g = 1/2, so p_u p_g = 1/4.
    # M = 2·(3/8) ln((3/8)/(1/4)) + 2·(1/8) ln((1/8)/(1/4)) = (3/4) ln(3/2) + (1/4) ln(1/2)
    #   = .3040988 − .1732868 = .1308120.
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert mutual_information([[3, 1], [1, 3]]) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(0.1308120, abs=1e-7)


def test_multigroup_entropy_hand_computed():
    # Synthetic: the table above. E = −Σ P_g ln P_g = ln 2 (P_g = 1/2, 1/2).
    # H = M / E = .1308120 / .6931472 = .1887219 — the single-group H of p = .75, .25, P = .5:
    # 1 − h(.75)/ln 2 with h(.75) = −.75 ln .75 − .25 ln .25 = .5623351 → 1 − .8112781.
    expected = (0.75 * math.log(1.5) + 0.25 * math.log(0.5)) / math.log(2)
    assert multigroup_entropy([[3, 1], [1, 3]]) == pytest.approx(expected, rel=1e-14)
    assert entropy([3, 1], [4, 4]) == pytest.approx(expected, rel=1e-14)


def test_mutual_information_decomposition_hand_computed():
    # Synthetic: 4 units × 2 groups in 2 clusters (labels 7 and 3, any integers will do):
    #   cluster 7: u1 = (4, 0), u2 = (2, 2)  → cluster counts (6, 2), N_7 = 8
    #   cluster 3: u3 = (1, 3), u4 = (1, 3)  → cluster counts (2, 6), N_3 = 8;  N = 16.
    # between = M of [[6, 2], [2, 6]] = (3/4) ln(3/2) + (1/4) ln(1/2) = .1308120 (as above,
    #   p_cg = 6/16, 2/16, 2/16, 6/16 with p_c p_g = 1/4).
    # M_7: p_ug = 4/8, 0, 2/8, 2/8; p_u = 1/2, 1/2; p_g|7 = 3/4, 1/4:
    #   (1/2) ln((1/2)/(3/8)) + (1/4) ln((1/4)/(3/8)) + (1/4) ln((1/4)/(1/8))
    #   = (1/2) ln(4/3) + (1/4) ln(2/3) + (1/4) ln 2 = (3/4) ln(4/3) = .2157616.
    # M_3 = 0 (both units have the cluster's mix).  within = (8/16)·.2157616 + (8/16)·0 = .1078808.
    # total, directly: p_u = 1/4, p_g = 1/2 → p_u p_g = 1/8:
    #   (4/16) ln 2 + 2·(2/16) ln 1 + 2·(1/16) ln(1/2) + 2·(3/16) ln(3/2)
    #   = .1732868 + 0 − .0866434 + .1520494 = .2386928 = .1308120 + .1078808.
    counts = [[4, 0], [2, 2], [1, 3], [1, 3]]
    result = mutual_information_decomposition(counts, [7, 7, 3, 3])
    between = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    within = 0.5 * 0.75 * math.log(4 / 3)
    total = 0.25 * math.log(2) + 0.125 * math.log(0.5) + 0.375 * math.log(1.5)
    assert result.between == pytest.approx(between, rel=1e-14)
    assert result.within == pytest.approx(within, rel=1e-14)
    assert result.total == pytest.approx(total, rel=1e-14)
    assert total == pytest.approx(between + within, rel=1e-14)
    assert result.total == pytest.approx(0.2386928, abs=1e-7)
    assert isinstance(result.total, float)
    assert tuple(result) == (result.total, result.between, result.within)  # a plain tuple too


def test_mutual_information_is_zero_without_segregation_and_e_with_complete():
    # Synthetic: every unit has the overall mix 1:2:1 → M = 0. Each group alone in its own
    # units → M = E = −Σ P_g ln P_g with P = 1/4, 1/2, 1/4: E = 1.5 ln 2 ≈ 1.0397208.
    assert mutual_information([[1, 2, 1], [3, 6, 3]]) == pytest.approx(0.0, abs=1e-15)
    separated = [[5, 0, 0], [0, 7, 0], [0, 3, 0], [0, 0, 5]]
    assert mutual_information(separated) == pytest.approx(1.5 * math.log(2), rel=1e-14)
    assert multigroup_entropy(separated) == pytest.approx(1.0, rel=1e-14)
    assert multigroup_dissimilarity(separated) == pytest.approx(1.0, rel=1e-14)


def test_new_indices_ignore_units_with_total_zero():
    # Synthetic: the fixtures above with empty units inserted give the same values.
    assert gini([2, 0, 6, 4, 0], [10, 0, 10, 20, 0]) == pytest.approx(5 / 14, rel=1e-14)
    assert entropy([0, 0, 10, 10], [10, 0, 20, 10]) == pytest.approx(0.5, rel=1e-14)
    assert atkinson([2, 0, 8], [10, 0, 10]) == pytest.approx(0.36, rel=1e-14)
    assert correlation_ratio([8, 0, 2, 5], [10, 0, 10, 20]) == pytest.approx(97 / 375, rel=1e-14)
    table = [[6, 3, 1], [0, 0, 0], [2, 3, 5]]
    assert multigroup_dissimilarity(table) == pytest.approx(10 / 33, rel=1e-14)
    m = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert mutual_information([[3, 1], [0, 0], [1, 3]]) == pytest.approx(m, rel=1e-14)
    assert multigroup_entropy([[3, 1], [0, 0], [1, 3]]) == pytest.approx(m / math.log(2), rel=1e-14)
    # An empty unit forming a cluster of its own, and one inside a cluster.
    result = mutual_information_decomposition(
        [[4, 0], [0, 0], [2, 2], [1, 3], [1, 3], [0, 0]], [7, 9, 7, 3, 3, 3]
    )
    assert result.within == pytest.approx(0.375 * math.log(4 / 3), rel=1e-14)
    assert result.between == pytest.approx(m, rel=1e-14)


def test_an_absent_group_is_left_out_of_multigroup_indices():
    # Synthetic: the 2 × 2 table above plus a third group with no members anywhere:
    # 0 · ln 0 = 0 and P_k (1 − P_k) = 0, so M, H and D are those of the 2-group table.
    m = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert mutual_information([[3, 1, 0], [1, 3, 0]]) == pytest.approx(m, rel=1e-14)
    assert multigroup_entropy([[3, 1, 0], [1, 3, 0]]) == pytest.approx(m / math.log(2))
    # Two groups: D = ½(|3/4 − 1/4| + |1/4 − 3/4|) = 1/2.
    assert multigroup_dissimilarity([[3, 1, 0], [1, 3, 0]]) == pytest.approx(0.5, rel=1e-14)


def test_multigroup_counts_may_be_a_dataframe():
    # Synthetic: the multigroup D fixture as a DataFrame (units as rows, groups as columns).
    frame = pd.DataFrame({"a": [6, 2], "b": [3, 3], "c": [1, 5]}, index=[10, 4])
    assert multigroup_dissimilarity(frame) == pytest.approx(10 / 33, rel=1e-14)


def test_clusters_may_be_strings():
    # Synthetic: the decomposition fixture with town names (a pandas string Series) as labels.
    towns = pd.Series(["Avon", "Avon", "Bethel", "Bethel"])
    result = mutual_information_decomposition([[4, 0], [2, 2], [1, 3], [1, 3]], towns)
    assert result.within == pytest.approx(0.375 * math.log(4 / 3), rel=1e-14)


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


def test_scalar_input_is_rejected():
    # 2-d input is a batch (one row per draw, see "Batches" below); a bare number is not counts.
    with pytest.raises(ValueError, match=r"^group: expected one count per unit"):
        isolation(3, [2, 2])
    with pytest.raises(ValueError, match=r"^total: expected one count per unit"):
        gini([1, 2], 5)


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
    # Simulated parts and totals kept in single precision differ by a few of its ulps
    # (1.2e-7 relative): that is rounding, not an error; 1e-5 is an error.
    total = 3000.0
    assert isolation([total * (1 + 2.4e-7), 1], [total, 5]) > 0
    with pytest.raises(ValueError, match=r"^group: exceeds total"):
        isolation([total * (1 + 1e-5), 1], [total, 5])


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: gini([1, -1], [2, 2]), r"^group: .*negative"),
        (lambda: entropy([1, 1], [2, -2]), r"^total: .*negative"),
        (lambda: atkinson([1, math.nan], [2, 2]), r"^group: .*missing"),
        (lambda: correlation_ratio([1, 1], [2, np.inf]), r"^total: .*infinite"),
        (lambda: multigroup_dissimilarity([[1, -1], [2, 2]]), r"^counts: .*negative"),
        (lambda: multigroup_entropy([[1, math.nan], [2, 2]]), r"^counts: .*missing"),
        (lambda: mutual_information([[1, np.inf], [2, 2]]), r"^counts: .*infinite"),
        (lambda: mutual_information_decomposition([[1, -1]], [0]), r"^counts: .*negative"),
        (lambda: gini([[1, 1], [1, -1]], [2, 2]), r"^group: .*negative"),  # in a batch
    ],
)
def test_new_indices_reject_bad_counts(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize("function", [gini, entropy, atkinson, correlation_ratio])
def test_new_single_group_indices_check_shapes_and_totals(function):
    with pytest.raises(ValueError, match=r"'total': 2"):
        function([1, 1, 1], [3, 3])
    with pytest.raises(ValueError, match=r"^no units"):
        function([], [])
    with pytest.raises(ValueError, match=r"^group: exceeds total"):
        function([3, 1], [2, 5])
    with pytest.raises(ValueError, match=r"^group: .*no members"):
        function([0, 0], [1, 2])
    # Nobody outside the group: P = 1, and every one of these divides by 1 − P.
    with pytest.raises(ValueError, match=r"^total: nobody outside the group"):
        function([1, 2], [1, 2])


def test_batch_shapes_must_broadcast():
    # (3, n) against (4, n): no common batch shape. The message names both arguments.
    with pytest.raises(ValueError, match=r"do not broadcast") as caught:
        gini(np.ones((3, 5)), np.ones((4, 5)))
    assert "'group': (3, 5)" in str(caught.value)
    assert "'total': (4, 5)" in str(caught.value)
    with pytest.raises(ValueError, match=r"different numbers of units"):
        dissimilarity(np.ones((3, 5)), np.ones((3, 4)))


@pytest.mark.parametrize("b", [0.0, 1.0, -0.5, 1.5, math.nan, "0.5", True])
def test_atkinson_rejects_b_outside_the_open_unit_interval(b):
    with pytest.raises(ValueError, match=r"^b: "):
        atkinson([1, 2], [3, 3], b=b)


def test_atkinson_accepts_b_as_any_real_number():
    assert atkinson([2, 8], [10, 10], b=np.float32(0.5)) == pytest.approx(0.36, rel=1e-6)


@pytest.mark.parametrize(
    "function",
    [multigroup_dissimilarity, multigroup_entropy, mutual_information],
)
def test_multigroup_indices_check_their_table(function):
    with pytest.raises(ValueError, match=r"^counts: expected one count per unit and group"):
        function([1, 2, 3])
    with pytest.raises(ValueError, match=r"^counts: no units"):
        function(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"^counts: no groups"):
        function(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"^counts: nobody in any unit"):
        function([[0, 0], [0, 0]])


@pytest.mark.parametrize("function", [multigroup_dissimilarity, multigroup_entropy])
def test_multigroup_indices_need_two_groups_with_members(function):
    with pytest.raises(ValueError, match=r"^counts: only one group has members"):
        function([[3, 0], [5, 0]])


def test_mutual_information_of_one_group_is_zero():
    # One group: every p_ug = p_u = p_u p_g, so each log is 0.
    assert mutual_information([[3, 0], [5, 0]]) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    ("clusters", "pattern"),
    [
        ([[0, 1]], r"^clusters: expected one label per unit"),
        ([0, 1, 1], r"^clusters: 3 labels for 2 units"),
        ([0.0, 1.0], r"^clusters: expected integer"),
        ([0, None], r"^clusters: expected integer"),
    ],
)
def test_mutual_information_decomposition_checks_clusters(clusters, pattern):
    with pytest.raises(ValueError, match=pattern):
        mutual_information_decomposition([[1, 2], [3, 4]], clusters)


def test_mutual_information_decomposition_of_an_empty_table_is_rejected():
    with pytest.raises(ValueError, match=r"^counts: nobody in any unit"):
        mutual_information_decomposition([[0, 0], [0, 0]], [1, 2])


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


@PROPERTY_SETTINGS
@given(group_and_total())
def test_gini_equals_the_double_sum_over_pairs(counts):
    # The sort-and-gaps formula against the definition, an explicit n × n sum (ties included:
    # the strategy draws many small and equal counts).
    g, t = counts
    g, t = g[t > 0], t[t > 0]
    p = g / t
    pairs = (t[:, None] * t[None, :] * np.abs(p[:, None] - p[None, :])).sum()
    share = g.sum() / t.sum()
    if share >= 1:
        with pytest.raises(ValueError, match=r"^total: nobody outside"):
            gini(g, t)
        return
    expected = pairs / (2 * t.sum() ** 2 * share * (1 - share))
    assert gini(g, t) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@PROPERTY_SETTINGS
@given(two_groups())
def test_single_group_indices_lie_between_zero_and_one(counts):
    g, o = counts
    t = g + o
    for function in (gini, entropy, atkinson, partial(atkinson, b=0.1), correlation_ratio):
        assert -1e-12 <= function(g, t) <= 1 + 1e-12


@PROPERTY_SETTINGS
@given(two_groups())
def test_gini_is_at_least_dissimilarity(counts):
    # Both measure the segregation curve: D is its largest gap to the diagonal, G twice the area
    # between them, and a convex curve encloses at least the triangle of height D.
    g, o = counts
    assert gini(g, g + o) >= dissimilarity(g, o) - 1e-12


@PROPERTY_SETTINGS
@given(st.data())
def test_gini_is_invariant_to_permuting_units(data):
    g, o = data.draw(two_groups())
    order = np.array(data.draw(st.permutations(range(len(g)))))
    assert gini(g[order], g[order] + o[order]) == pytest.approx(
        gini(g, g + o), rel=1e-12, abs=1e-14
    )


@PROPERTY_SETTINGS
@given(two_groups())
def test_two_group_multigroup_indices_equal_the_pairwise_ones(counts):
    # Two groups: Σ_k P_k(1 − P_k) = 2P(1 − P) and Σ_k t_i|p_ik − P_k| = 2 t_i|p_i − P|, so the
    # multigroup D is PySAL's (pairwise) Dissim; H with two groups is the single-group H.
    g, o = counts
    table = np.column_stack([g, o])
    assert multigroup_dissimilarity(table) == pytest.approx(
        dissimilarity(g, o), rel=1e-12, abs=1e-14
    )
    assert multigroup_entropy(table) == pytest.approx(entropy(g, g + o), rel=1e-10, abs=1e-12)


COUNT_TABLE = st.integers(min_value=0, max_value=1_000)


@st.composite
def table_and_clusters(draw, max_units: int = 25, max_groups: int = 5):
    """Counts (units × groups) with somebody in them, and cluster labels 0…4 (in any order)."""
    n_units = draw(st.integers(1, max_units))
    n_groups = draw(st.integers(1, max_groups))
    cells = draw(st.lists(COUNT_TABLE, min_size=n_units * n_groups, max_size=n_units * n_groups))
    table = np.array(cells, dtype=np.float64).reshape(n_units, n_groups)
    table[draw(st.integers(0, n_units - 1)), draw(st.integers(0, n_groups - 1))] += 1
    clusters = np.array(draw(st.lists(st.integers(0, 4), min_size=n_units, max_size=n_units)))
    return table, clusters


@PROPERTY_SETTINGS
@given(table_and_clusters())
def test_mutual_information_decomposes_into_between_and_within(data):
    table, clusters = data
    total, between, within = mutual_information_decomposition(table, clusters)
    assert total == pytest.approx(between + within, rel=0, abs=1e-12)
    assert total == pytest.approx(mutual_information(table), rel=0, abs=1e-14)
    assert between >= -1e-14
    assert within >= -1e-14
    # within = Σ_c (N_c/N) M_c, cluster by cluster.
    population = table.sum()
    expected_within = 0.0
    for cluster in np.unique(clusters):
        part = table[clusters == cluster]
        if part.sum() > 0:
            expected_within += part.sum() / population * mutual_information(part)
    assert within == pytest.approx(expected_within, rel=0, abs=1e-13)


@PROPERTY_SETTINGS
@given(table_and_clusters(), st.integers(2, 4))
def test_mutual_information_decomposition_is_batched(data, draws):
    # Draws: the table scaled/perturbed per draw; the labels are shared by every draw.
    table, clusters = data
    rng = np.random.default_rng(int(table.sum()))
    batch = table * rng.integers(0, 3, size=(draws, *table.shape))
    result = mutual_information_decomposition(batch, clusters)
    assert result.total.shape == result.between.shape == result.within.shape == (draws,)
    for row in range(draws):
        assert_row_matches(
            np.array([result.total[row], result.between[row], result.within[row]]),
            lambda row=row: np.array(mutual_information_decomposition(batch[row], clusters)),
        )
    defined = ~np.isnan(result.total)
    assert np.allclose(
        result.total[defined], result.between[defined] + result.within[defined], rtol=0, atol=1e-12
    )


# --------------------------------------------------------------------------------------------
# Batches: leading axes are draws; each row equals the 1-d call on that row
# --------------------------------------------------------------------------------------------


def random_group_and_total(rng: np.random.Generator, shape: tuple[int, ...]):
    """Synthetic group counts and unit totals of the given shape, with an empty unit (0), a
    unit without group members (1) and one of members only (2) in every row."""
    total = rng.integers(0, 2_000, shape).astype(np.float64)
    share = rng.beta(0.6, 2.0, shape)
    group = rng.binomial(total.astype(np.int64), share).astype(np.float64)
    total[..., 0] = group[..., 0] = 0
    group[..., 1] = 0
    group[..., 2] = total[..., 2]
    return group, total


def random_table(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Synthetic counts (..., units, groups): uneven group sizes and unit mixes, an empty unit
    (0) and a one-group unit (1)."""
    *batch, n_units, n_groups = shape
    size = rng.integers(0, 3_000, (*batch, n_units, 1))
    mix = rng.dirichlet(np.linspace(0.3, 2.0, n_groups), size=(*batch, n_units))
    table = rng.poisson(size * mix).astype(np.float64)
    table[..., 0, :] = 0
    table[..., 1, 1:] = 0
    return table


def assert_row_matches(value, single) -> None:
    """A batch row equals the 1-d call, or is NaN where the 1-d call says it is undefined."""
    try:
        expected = single()
    except ValueError:
        assert np.isnan(value).all()
    else:
        assert np.asarray(value) == pytest.approx(np.asarray(expected), rel=1e-12, abs=1e-15)


#: Every index of (group, total); pairwise ones take the other group as total − group.
GROUP_AND_TOTAL_INDICES = {
    "dissimilarity": lambda g, t: dissimilarity(g, t - g),
    "isolation": isolation,
    "interaction": lambda g, t: interaction(g, t - g, t),
    "gini": gini,
    "entropy": entropy,
    "atkinson_b0.1": partial(atkinson, b=0.1),
    "atkinson_b0.5": atkinson,
    "atkinson_b0.9": partial(atkinson, b=0.9),
    "correlation_ratio": correlation_ratio,
}
MULTIGROUP_INDICES = {
    "multigroup_dissimilarity": multigroup_dissimilarity,
    "multigroup_entropy": multigroup_entropy,
    "mutual_information": mutual_information,
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(GROUP_AND_TOTAL_INDICES))
def test_batch_rows_equal_single_calls(name, seed):
    function = GROUP_AND_TOTAL_INDICES[name]
    rng = np.random.default_rng(seed)
    group, total = random_group_and_total(rng, (6, 30 + 50 * seed))
    group[1] = 0  # draw 1: the group has no members
    group[2] = total[2]  # draw 2: nobody outside the group
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined draws give NaN silently
        batch = function(group, total)
    assert isinstance(batch, np.ndarray)
    assert batch.shape == (6,)
    for row in range(6):
        assert_row_matches(batch[row], lambda row=row: function(group[row], total[row]))
    assert np.isnan(batch[1])
    assert np.isfinite(batch[[0, 3, 4, 5]]).all()
    # Any number of leading axes: (2, 3, n) gives the same values, shaped (2, 3).
    cube = function(group.reshape(2, 3, -1), total.reshape(2, 3, -1))
    assert cube.shape == (2, 3)
    np.testing.assert_allclose(cube.reshape(-1), batch, rtol=1e-14, atol=0, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(MULTIGROUP_INDICES))
def test_multigroup_batch_rows_equal_single_calls(name, seed):
    function = MULTIGROUP_INDICES[name]
    rng = np.random.default_rng(seed)
    table = random_table(rng, (6, 30 + 50 * seed, 3 + seed))
    table[1] = 0  # draw 1: nobody at all
    table[2, :, 1:] = 0  # draw 2: one group only
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch = function(table)
    assert isinstance(batch, np.ndarray)
    assert batch.shape == (6,)
    for row in range(6):
        assert_row_matches(batch[row], lambda row=row: function(table[row]))
    assert np.isnan(batch[1])
    assert np.isfinite(batch[[0, 3, 4, 5]]).all()
    cube = function(table.reshape(2, 3, *table.shape[1:]))
    assert cube.shape == (2, 3)
    np.testing.assert_allclose(cube.reshape(-1), batch, rtol=1e-14, atol=0, equal_nan=True)


def test_mutual_information_decomposition_batch_rows_equal_single_calls():
    rng = np.random.default_rng(7)
    table = random_table(rng, (5, 120, 4))
    table[3] = 0  # draw 3: nobody at all → NaN, NaN, NaN
    table[4, :40] = 0  # draw 4: the clusters of units 0–39 are empty → weight 0, no NaN
    clusters = np.arange(120) // 40 * 11  # three clusters: 0, 11, 22
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = mutual_information_decomposition(table, clusters)
    for row in range(5):
        assert_row_matches(
            np.array([result.total[row], result.between[row], result.within[row]]),
            lambda row=row: np.array(mutual_information_decomposition(table[row], clusters)),
        )
    assert np.isnan(result.total[3]) and np.isnan(result.between[3]) and np.isnan(result.within[3])
    assert np.isfinite(np.delete(np.array(result), 3, axis=1)).all()


def test_leading_axes_broadcast():
    # A fixed total (n,) against group draws (draws, n), and vice versa for dissimilarity.
    rng = np.random.default_rng(11)
    total = rng.integers(1, 500, 50).astype(np.float64)
    group = rng.binomial(total.astype(np.int64), 0.3, size=(4, 50)).astype(np.float64)
    for name, function in GROUP_AND_TOTAL_INDICES.items():
        batch = function(group, total)
        assert batch.shape == (4,), name
        for row in range(4):
            assert batch[row] == pytest.approx(function(group[row], total), rel=1e-12), name
    assert dissimilarity(group[0], group).shape == (4,)


def test_one_set_of_counts_gives_a_python_float():
    g, t = np.array([2.0, 6.0, 4.0]), np.array([10, 10, 20])
    for function in GROUP_AND_TOTAL_INDICES.values():
        assert type(function(g, t)) is float
    for function in MULTIGROUP_INDICES.values():
        assert type(function([[6, 3, 1], [2, 3, 5]])) is float
    # A batch of one draw is still a batch.
    assert gini([g], [t]).shape == (1,)


def test_a_large_batch():
    # 200 draws × 2,000 units (Gini sorts each draw: O(n log n), no n × n matrix).
    rng = np.random.default_rng(3)
    group, total = random_group_and_total(rng, (200, 2_000))
    table = random_table(rng, (200, 2_000, 4))
    assert np.isfinite(gini(group, total)).all()
    assert np.isfinite(mutual_information_decomposition(table, np.arange(2_000) // 25).within).all()


@pytest.mark.parametrize("block_cells", [1, 7, 64])
def test_blocks_of_draws_change_no_value(monkeypatch, block_cells):
    # Synthetic batches evaluated whole, then a few draws (or one) at a time: same values,
    # bit for bit, with NaN in the same draws, and the batch shape kept.
    rng = np.random.default_rng(12)
    group, total = random_group_and_total(rng, (2, 3, 20))
    group[0, 1] = 0  # an undefined draw
    table = random_table(rng, (2, 3, 20, 3))
    clusters = np.arange(20) // 7
    calls = {
        **{name: lambda f=f: f(group, total) for name, f in GROUP_AND_TOTAL_INDICES.items()},
        **{name: lambda f=f: f(table) for name, f in MULTIGROUP_INDICES.items()},
        "decomposition": lambda: mutual_information_decomposition(table, clusters),
        "multigroup together": lambda: multigroup_indices(table, clusters),
        "together": lambda: single_group_indices(group, total - group, total),
        # A universe shared by the first batch axis (broadcast, as measure passes it).
        "shared universe": lambda: single_group_indices(group, total - group, total.max(axis=0)),
    }
    whole = {name: call() for name, call in calls.items()}
    monkeypatch.setattr(indices, "BLOCK_CELLS", block_cells)
    for name, call in calls.items():
        blocked = call()
        if isinstance(blocked, dict):
            assert blocked.keys() == whole[name].keys()
            blocked, expected = list(blocked.values()), list(whole[name].values())
        else:
            expected = whole[name]
        np.testing.assert_array_equal(np.array(blocked), np.array(expected), err_msg=name)
        assert np.shape(blocked)[-2:] == (2, 3), name


def test_single_group_indices_equal_the_separate_functions():
    # Synthetic: evenness over the pair (group, reference), exposure within a universe that
    # also holds people of neither group.
    rng = np.random.default_rng(21)
    group, pair = random_group_and_total(rng, (5, 80))
    reference = pair - group
    universe = pair + rng.integers(0, 300, pair.shape)
    shapes = {"atkinson_b01": 0.1, "atkinson_b05": 0.5, "atkinson_b09": 0.9}
    together = single_group_indices(group, reference, universe, atkinson_shapes=shapes)
    separate = {
        "dissimilarity": dissimilarity(group, reference),
        "gini": gini(group, pair),
        "entropy": entropy(group, pair),
        **{name: atkinson(group, pair, b) for name, b in shapes.items()},
        "isolation": isolation(group, universe),
        "interaction": interaction(group, reference, universe),
        "correlation_ratio": correlation_ratio(group, universe),
    }
    assert together.keys() == separate.keys()
    for name, expected in separate.items():
        np.testing.assert_allclose(together[name], expected, rtol=1e-12, atol=1e-15, err_msg=name)
    # Without a universe, exposure is within the pair; one set of counts gives floats.
    alone = single_group_indices(group[0], reference[0])
    assert alone["isolation"] == pytest.approx(isolation(group[0], pair[0]), rel=1e-12)
    assert alone["atkinson"] == pytest.approx(atkinson(group[0], pair[0]), rel=1e-12)
    assert all(type(value) is float for value in alone.values())


def test_multigroup_indices_equal_the_separate_functions():
    # Synthetic: a batch of 4 tables of 30 units and 3 groups in 5 clusters, one draw with a
    # single populated group (H undefined there, M defined as 0).
    rng = np.random.default_rng(22)
    table = random_table(rng, (4, 30, 3))
    table[2, :, 1:] = 0
    clusters = np.arange(30) % 5
    together = multigroup_indices(table, clusters)
    total, between, within = mutual_information_decomposition(table, clusters)
    separate = {
        "multigroup_dissimilarity": multigroup_dissimilarity(table),
        "multigroup_entropy": multigroup_entropy(table),
        "mutual_information": mutual_information(table),
        "mutual_information_between": between,
        "mutual_information_within": within,
    }
    assert together.keys() == separate.keys()
    for name, expected in separate.items():
        np.testing.assert_allclose(together[name], expected, rtol=1e-12, atol=1e-15, err_msg=name)
    assert np.isnan(together["multigroup_entropy"][2])
    np.testing.assert_allclose(total, together["mutual_information"], rtol=1e-12)
    assert multigroup_indices(table[0]).keys() == set(list(separate)[:3])


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: single_group_indices([0, 0], [3, 4]), r"^group: .*no members"),
        (lambda: single_group_indices([1, 2], [0, 0]), r"^reference: .*no members"),
        (lambda: single_group_indices([1, 2], [3, 4], [4, 5]), r"^group and reference: .*exceed"),
        (lambda: single_group_indices([1, -2], [3, 4]), r"^group: contains negative"),
        (lambda: single_group_indices([1, 2], [3, np.nan]), r"^reference: contains missing"),
        (
            lambda: single_group_indices([1, 2], [3, 4], atkinson_shapes={"a": 1.0}),
            r"^b: must be a number strictly between 0 and 1",
        ),
    ],
)
def test_single_group_indices_reject_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


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


def pysal_atkinson(frame: pd.DataFrame, group: str, total: str, b: float) -> float:
    """PySAL's Atkinson for a given b: its function, since the class ignores b (see below)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(_atkinson(frame, group, total, b=float(b))[0])


def pysal_multigroup(index_class, frame: pd.DataFrame, groups: list[str]) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(index_class(frame, groups).statistic)


#: (our function, PySAL's value for a frame with columns g and t) for every single-group index.
SINGLE_GROUP_ORACLES = {
    "gini": (gini, lambda frame: pysal(Gini, frame, "g", "t")),
    "entropy": (entropy, lambda frame: pysal(Entropy, frame, "g", "t")),
    "correlation_ratio": (correlation_ratio, lambda frame: pysal(CorrelationR, frame, "g", "t")),
    "isolation": (isolation, lambda frame: pysal(Isolation, frame, "g", "t")),
    **{
        f"atkinson_b{b}": (
            partial(atkinson, b=b),
            partial(pysal_atkinson, group="g", total="t", b=b),
        )
        for b in (0.1, 0.5, 0.9)
    },
}
#: Seeds and numbers of units of the random oracle data.
ORACLE_CASES = [(0, 30), (1, 97), (2, 180), (3, 300)]


@pytest.mark.parametrize(("seed", "n_units"), ORACLE_CASES)
def test_single_group_indices_match_pysal_on_random_data(seed, n_units):
    # Synthetic counts with an empty unit, a unit without the group and one of the group only
    # (PySAL copes with all three: it sets p_i = 0 where t_i = 0, and uses nansum or
    # nan_to_num elsewhere).
    group, total = random_group_and_total(np.random.default_rng(seed), (n_units,))
    frame = pd.DataFrame({"g": group, "t": total})
    for name, (ours, theirs) in SINGLE_GROUP_ORACLES.items():
        assert ours(group, total) == pytest.approx(theirs(frame), rel=0, abs=1e-9), name
    # Batched, the same draws give the same answers.
    batch_group, batch_total = random_group_and_total(np.random.default_rng(seed), (3, n_units))
    for name, (ours, theirs) in SINGLE_GROUP_ORACLES.items():
        values = ours(batch_group, batch_total)
        for row in range(3):
            frame = pd.DataFrame({"g": batch_group[row], "t": batch_total[row]})
            assert values[row] == pytest.approx(theirs(frame), rel=0, abs=1e-9), name


@pytest.mark.parametrize(("seed", "n_units"), ORACLE_CASES)
def test_multigroup_indices_match_pysal_on_random_data(seed, n_units):
    table = random_table(np.random.default_rng(seed), (n_units, 3 + seed))
    columns = [f"group_{k}" for k in range(table.shape[1])]
    frame = pd.DataFrame(table, columns=columns)
    assert multigroup_dissimilarity(table) == pytest.approx(
        pysal_multigroup(MultiDissim, frame, columns), rel=0, abs=1e-9
    )
    information = pysal_multigroup(MultiInfoTheory, frame, columns)
    assert multigroup_entropy(table) == pytest.approx(information, rel=0, abs=1e-9)
    # M = H · E, E the entropy of the overall group shares (Reardon & Firebaugh 2002: H = M/E).
    shares = table.sum(axis=0) / table.sum()
    group_entropy = -(shares * np.log(shares)).sum()
    assert mutual_information(table) == pytest.approx(information * group_entropy, abs=1e-9)


@pytest.mark.parametrize(("seed", "n_units"), ORACLE_CASES)
def test_empty_units_change_nothing_on_random_data(seed, n_units):
    rng = np.random.default_rng(seed)
    group, total = random_group_and_total(rng, (n_units,))
    populated = total > 0
    for name, (ours, _) in SINGLE_GROUP_ORACLES.items():
        assert ours(group, total) == pytest.approx(
            ours(group[populated], total[populated]), rel=1e-12
        ), name
    table = random_table(rng, (n_units, 4))
    populated = table.sum(axis=1) > 0
    for name, ours in MULTIGROUP_INDICES.items():
        assert ours(table) == pytest.approx(ours(table[populated]), rel=1e-12), name


@ORACLE_SETTINGS
@given(two_groups(max_units=60))
def test_single_group_indices_match_pysal_on_drawn_data(counts):
    g, o = counts
    frame = pd.DataFrame({"g": g, "t": g + o})
    for name, (ours, theirs) in SINGLE_GROUP_ORACLES.items():
        assert ours(g, g + o) == pytest.approx(theirs(frame), rel=0, abs=1e-9), name


def test_pysal_atkinson_class_ignores_b():
    # PySAL quirk reproduced in the oracle above: Atkinson(…, b=…) passes b on to nothing
    # (its __init__ calls _atkinson without it), so the class always computes b = 0.5.
    group, total = random_group_and_total(np.random.default_rng(5), (60,))
    frame = pd.DataFrame({"g": group, "t": total})
    with np.errstate(divide="ignore", invalid="ignore"):
        from_class = float(Atkinson(frame, "g", "t", b=0.1).statistic)
    assert from_class == pytest.approx(atkinson(group, total, b=0.5), abs=1e-12)
    assert from_class != pytest.approx(atkinson(group, total, b=0.1), abs=1e-3)


def test_pysal_multi_info_theory_is_nan_with_an_absent_group():
    # PySAL quirk not reproduced: E = Σ P_k ln(1/P_k) is 0 · inf = NaN for a group with no
    # members anywhere, so MultiInfoTheory returns NaN. We leave the group out (0 ln 0 = 0),
    # which is PySAL's value without that column; MultiDissim already ignores it.
    table = random_table(np.random.default_rng(9), (80, 4))
    table[:, 2] = 0
    columns = ["a", "b", "c", "d"]
    frame = pd.DataFrame(table, columns=columns)
    present = ["a", "b", "d"]
    assert math.isnan(pysal_multigroup(MultiInfoTheory, frame, columns))
    assert multigroup_entropy(table) == pytest.approx(
        pysal_multigroup(MultiInfoTheory, frame, present), abs=1e-12
    )
    assert multigroup_dissimilarity(table) == pytest.approx(
        pysal_multigroup(MultiDissim, frame, columns), abs=1e-12
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


def test_sacramento_gini_atkinson_and_correlation_ratio_match_published_values(sacramento):
    hispanic, total, reference = sacramento
    verified, published = reference["verified_here_with_numpy"], reference["pysal_test_values"]
    assert published["Atkinson"] == pytest.approx(0.15079259382667654, abs=1e-16)
    assert verified["CorrelationR"] == pytest.approx(0.09164042012926693, abs=1e-16)
    assert gini(hispanic, total) == pytest.approx(verified["GiniSeg"], abs=1e-10)
    assert atkinson(hispanic, total, b=0.5) == pytest.approx(published["Atkinson"], abs=1e-10)
    assert correlation_ratio(hispanic, total) == pytest.approx(verified["CorrelationR"], abs=1e-10)


def test_sacramento_single_group_indices_match_pysal(sacramento):
    hispanic, total, _ = sacramento
    frame = pd.DataFrame({"g": hispanic, "t": total})
    for name, (ours, theirs) in SINGLE_GROUP_ORACLES.items():
        assert ours(hispanic, total) == pytest.approx(theirs(frame), rel=0, abs=1e-9), name


def test_sacramento_entropy_is_pysal_2_5_4_not_the_old_listed_value(sacramento):
    """The reference file lists Entropy 0.09459761 (ComputeAll, from a PySAL release that
    predates pysal/segregation#178) and notes that a plain numpy H gives 0.09627. PySAL 2.5.4
    gives 0.09627 too: before #178 (2021) a unit with p_i = 0 or 1 had E_i = 0 · ln(1/0) = NaN,
    and np.nansum dropped its whole term t_i (E − E_i)/(E T) = t_i/T instead of counting
    E_i = 0. Sacramento has two tracts without Hispanic residents (1,817 + 1,184 people)."""
    hispanic, total, reference = sacramento
    frame = pd.DataFrame({"g": hispanic, "t": total})
    value = entropy(hispanic, total)
    assert value == pytest.approx(pysal(Entropy, frame, "g", "t"), rel=0, abs=1e-12)
    assert value == pytest.approx(0.0962677448, abs=1e-10)
    listed = reference["ComputeAllAspatialSegregation_order_inferred"][2]
    assert listed == "Entropy 0.09459761"
    one_group_units = (hispanic == 0) | (hispanic == total)
    assert total[one_group_units].tolist() == [1817, 1184]
    old_pysal = value - total[one_group_units].sum() / total.sum()
    assert old_pysal == pytest.approx(float(listed.split()[1]), abs=5e-9)


def test_sacramento_multigroup_indices_match_pysal(sacramento_groups):
    table, columns = sacramento_groups
    frame = pd.DataFrame(table, columns=columns)
    assert multigroup_dissimilarity(table) == pytest.approx(
        pysal_multigroup(MultiDissim, frame, columns), rel=0, abs=1e-9
    )
    information = pysal_multigroup(MultiInfoTheory, frame, columns)
    assert multigroup_entropy(table) == pytest.approx(information, rel=0, abs=1e-9)
    shares = table.sum(axis=0) / table.sum()
    assert mutual_information(table) == pytest.approx(
        information * -(shares * np.log(shares)).sum(), rel=0, abs=1e-9
    )


@pytest.fixture(scope="module")
def sacramento_groups(shared_data):
    """Sacramento tracts × (white, black, asian, hispanic, everyone else) from TOT_POP."""
    tracts = gpd.read_file(shared_data / "sacramento" / "sacramento1.geojson")
    named = ["WHITE_", "BLACK_", "ASIAN_", "HISP_"]
    table = tracts[named].to_numpy(dtype=np.float64)
    rest = tracts["TOT_POP"].to_numpy(dtype=np.float64) - table.sum(axis=1)
    assert (rest >= 0).all()
    return np.column_stack([table, rest]), [*named, "REST"]


# --------------------------------------------------------------------------------------------
# Real Connecticut 2023 tracts: every value of compute_indices against PySAL / numpy
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_2023(ct_tracts_2023):
    """The 2023 CT tract table, built as config/config.yaml builds it, and its indices at the
    state, county and town levels (tests/test_pipeline.py covers regions and CBSAs)."""
    tracts = ct_tracts_2023.drop(columns=["planning_region_geoid", "cbsa_geoid"])
    table = compute_indices(
        tracts, groups=GROUPS, reference_group=REFERENCE, minimum_units={"town": 3}
    )
    return pd.DataFrame(tracts.drop(columns="geometry")), table


#: Index rows per area: 6 comparisons (4 groups vs white_nh, 2 poverty lines) x 9
#: single-group indices, 3 multigroup indices, and M's 2 town parts above the town level.
SINGLE_GROUP_INDICES = 9
POVERTY_GROUPS = ("below_poverty", "below_150_poverty")


def units_of(tracts: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    column = {"state": "state_fips", "county": "county_geoid", "town": "town_geoid"}[
        row["geography_level"]
    ]
    units = tracts[tracts[column] == row["geography_id"]]
    assert len(units) > 0
    return units


def test_ct_table_has_every_index_for_the_state_and_each_county(ct_2023):
    tracts, table = ct_2023
    counties = sorted(tracts["county_geoid"].unique())
    assert counties == [f"091{k}0" for k in range(1, 10)]
    per_area = table.groupby(["geography_level", "geography_id"]).size()
    comparisons = len(GROUPS) + len(POVERTY_GROUPS)
    assert (per_area[["state", "county"]] == comparisons * SINGLE_GROUP_INDICES + 3 + 2).all()
    # A town without members of a group has no indices for it (logged), so at most this:
    assert (per_area["town"] <= comparisons * SINGLE_GROUP_INDICES + 3).all()
    assert sorted(table.loc[table.geography_level == "county", "geography_id"].unique()) == counties
    # Towns with fewer than 3 populated tracts are left out.
    populated = tracts[tracts["total"] > 0].groupby("town_geoid").size()
    assert sorted(per_area["town"].index) == sorted(populated[populated >= 3].index)
    assert table["value"].notna().all()
    key = ["geography_level", "geography_id", "index", "group", "reference_group"]
    assert not table.duplicated(key).any()


def test_ct_dissimilarity_matches_pysal(ct_2023):
    tracts, table = ct_2023
    rows = table[(table["index"] == "dissimilarity") & table["group"].isin(GROUPS)]
    assert len(rows[rows["geography_level"] != "town"]) == 10 * len(GROUPS)
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
    rows = table[(table["index"] == "isolation") & table["group"].isin(GROUPS)]
    assert len(rows[rows["geography_level"] != "town"]) == 10 * len(GROUPS)
    for _, row in rows.iterrows():
        units = units_of(tracts, row)
        expected = pysal(Isolation, units[[row["group"], "total"]], row["group"], "total")
        assert row["reference_group"] == ""
        assert row["value"] == pytest.approx(expected, abs=1e-12), row.to_dict()


def test_ct_interaction_matches_direct_formula(ct_2023):
    tracts, table = ct_2023
    rows = table[(table["index"] == "interaction") & table["group"].isin(GROUPS)]
    assert len(rows[rows["geography_level"] != "town"]) == 10 * len(GROUPS)
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
    rows = table[(table["index"] == "interaction") & table["group"].isin(GROUPS)]
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
    rows = table[(table["group"] == "below_poverty") & (table["index"] == "dissimilarity")]
    assert len(rows) == table["geography_id"].nunique()
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
        universe = "poverty_universe" if row["group"] in POVERTY_GROUPS else "total"
        counted = units[units[universe] > 0]
        assert row["n_units"] == len(counted), row.to_dict()
        assert row["population"] == round(counted[universe].sum()), row.to_dict()
    state = table[table["geography_level"] == "state"]
    # README: the 2023 tract totals add up to the state total, 3,598,348.
    assert (state.loc[~state["group"].isin(POVERTY_GROUPS), "population"] == 3_598_348).all()


def ct_areas(tracts: pd.DataFrame):
    """The state and each county: (name, units)."""
    yield "state", tracts
    yield from tracts.groupby("county_geoid", sort=True)


def test_ct_single_group_indices_match_pysal(ct_2023):
    """Gini, entropy, Atkinson (b = .1, .5, .9) and the correlation ratio of each group against
    white_nh (total = group + white_nh), for the state and every county."""
    tracts, _ = ct_2023
    checked = 0
    for area, units in ct_areas(tracts):
        for group in GROUPS:
            g = units[group].to_numpy(dtype=np.float64)
            pair_total = g + units[REFERENCE].to_numpy(dtype=np.float64)
            frame = pd.DataFrame({"g": g, "t": pair_total})
            for name, (ours, theirs) in SINGLE_GROUP_ORACLES.items():
                assert ours(g, pair_total) == pytest.approx(theirs(frame), rel=0, abs=1e-9), (
                    area,
                    group,
                    name,
                )
                checked += 1
    assert checked == 10 * len(GROUPS) * len(SINGLE_GROUP_ORACLES)


def test_ct_counties_as_one_batch(ct_2023):
    """The nine counties padded with empty tracts to one (county, tract) array: each row gives
    the county's own value (the padding is ignored, as every unit with total 0 is)."""
    tracts, _ = ct_2023
    counties = [units for area, units in ct_areas(tracts) if area != "state"]
    width = max(len(units) for units in counties)
    group = np.zeros((len(counties), width))
    pair_total = np.zeros((len(counties), width))
    table = np.zeros((len(counties), width, len(PARTITION)))
    for row, units in enumerate(counties):
        group[row, : len(units)] = units["black_nh"]
        pair_total[row, : len(units)] = units["black_nh"] + units[REFERENCE]
        table[row, : len(units)] = units[PARTITION]
    for name, function in GROUP_AND_TOTAL_INDICES.items():
        values = function(group, pair_total)
        for row, units in enumerate(counties):
            g = units["black_nh"].to_numpy(dtype=np.float64)
            expected = function(g, g + units[REFERENCE].to_numpy(dtype=np.float64))
            assert values[row] == pytest.approx(expected, rel=1e-12), name
    for name, function in MULTIGROUP_INDICES.items():
        values = function(table)
        for row, units in enumerate(counties):
            assert values[row] == pytest.approx(function(units[PARTITION]), rel=1e-12), name


def test_ct_multigroup_indices_match_pysal(ct_2023):
    """The 8-group B03002 partition, state and counties. A group absent from a county is left
    out of PySAL's MultiInfoTheory input, which would otherwise be NaN (see above)."""
    tracts, _ = ct_2023
    for area, units in ct_areas(tracts):
        table = units[PARTITION].to_numpy(dtype=np.float64)
        present = [k for k in PARTITION if units[k].sum() > 0]
        frame = units[PARTITION].astype(np.float64)
        assert multigroup_dissimilarity(table) == pytest.approx(
            pysal_multigroup(MultiDissim, frame, PARTITION), rel=0, abs=1e-9
        ), area
        information = pysal_multigroup(MultiInfoTheory, frame, present)
        assert multigroup_entropy(table) == pytest.approx(information, rel=0, abs=1e-9), area
        shares = table.sum(axis=0) / table.sum()
        shares = shares[shares > 0]
        assert mutual_information(table) == pytest.approx(
            information * -(shares * np.log(shares)).sum(), rel=0, abs=1e-9
        ), area


def test_ct_mutual_information_decomposes_over_towns_and_counties(ct_2023):
    """Tracts in towns and in counties: total = between + within, between is M of the
    clusters' summed counts (pandas groupby), within the population-weighted M of each."""
    tracts, _ = ct_2023
    table = tracts[PARTITION].to_numpy(dtype=np.float64)
    population = table.sum()
    for cluster_column in ["town_geoid", "county_geoid"]:
        assert tracts[cluster_column].notna().all()
        result = mutual_information_decomposition(table, tracts[cluster_column])
        assert result.total == pytest.approx(result.between + result.within, rel=0, abs=1e-12)
        assert result.total == pytest.approx(mutual_information(table), rel=0, abs=1e-14)
        summed = tracts.groupby(cluster_column)[PARTITION].sum()
        assert result.between == pytest.approx(mutual_information(summed), rel=0, abs=1e-14)
        within = sum(
            units[PARTITION].to_numpy().sum() / population * mutual_information(units[PARTITION])
            for _, units in tracts.groupby(cluster_column)
            if units[PARTITION].to_numpy().sum() > 0
        )
        assert result.within == pytest.approx(within, rel=0, abs=1e-13)
        assert 0 < result.between < result.total
