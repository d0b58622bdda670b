"""Tests for housing_segregation.recap: R/ECAP flags, location quotients, local entropy.

Three layers of evidence:
- small synthetic fixtures whose expected values are worked out by hand in comments;
- PySAL ``segregation``'s local indices as an independent oracle on real tracts;
- the real Connecticut 2023 tract table, whose R/ECAP flags are recomputed here with plain
  pandas from HUD's definition.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from housing_segregation.recap import (
    RECAP_COLUMNS,
    cbsa_rates_elsewhere,
    elsewhere_of,
    flag_recaps,
    local_entropy,
    local_entropy_normalised,
    location_quotients,
    recap_flags,
    recap_table,
    recap_thresholds,
)

#: The eight B03002 groups, which partition `total`.
RACE_GROUPS = [
    "white_nh",
    "black_nh",
    "aian_nh",
    "asian_nh",
    "nhpi_nh",
    "other_nh",
    "two_or_more_nh",
    "hispanic",
]


# --------------------------------------------------------------------------------------------
# R/ECAPs: a synthetic tract table
# --------------------------------------------------------------------------------------------


def synthetic_tracts() -> pd.DataFrame:
    """Synthetic tracts of 1,000 people each (poverty universe 1,000), so counts read as ‰.

    CBSA 11111 — 12 tracts with a poverty universe; rates .31 + .29 + .30 + .30 + 8 × 0 =
    1.20, mean 1.20 / 12 = 0.10; 3 × 0.10 = 0.30 < 0.40, so 30% governs. The dorm tract
    (no poverty universe) and the empty tract are left out of the mean.
    CBSA 22222 — 8 tracts; rates .41 + .39 + .55 + 5 × .05 = 1.60, mean 1.60 / 8 = 0.20;
    3 × 0.20 = 0.60 > 0.40, so 40% governs.
    Outside any CBSA (empty or missing code) — only the 40% floor, and 20% non-white.
    """
    rows = [
        # geoid, cbsa, total, nonwhite, poverty_universe, below_poverty
        ("a_above", "11111", 1000, 600, 1000, 310),  # 60% ≥ 50%, 31% ≥ 30% → R/ECAP
        ("a_below", "11111", 1000, 600, 1000, 290),  # 29% < 30% → no
        ("a_white", "11111", 1000, 490, 1000, 300),  # 49% < 50% → no
        ("a_exact", "11111", 1000, 500, 1000, 300),  # 50% = 50%, 30% = 3 × 10% → R/ECAP
        *[(f"a_fill{k}", "11111", 1000, 900, 1000, 0) for k in range(8)],  # 0% poverty → no
        ("a_dorm", "11111", 1000, 800, 0, 0),  # no poverty universe → rate NaN, no
        ("a_empty", "11111", 0, 0, 0, 0),  # no people → both NaN, no
        ("b_above", "22222", 1000, 700, 1000, 410),  # 70%, 41% ≥ 40% → R/ECAP
        ("b_below", "22222", 1000, 700, 1000, 390),  # 39% < 40% (would pass in 11111) → no
        ("b_white", "22222", 1000, 450, 1000, 550),  # 45% < 50% → no
        *[(f"b_fill{k}", "22222", 1000, 600, 1000, 50) for k in range(5)],  # 5% → no
        ("out_above", "", 1000, 250, 1000, 450),  # 25% ≥ 20%, 45% ≥ 40% → R/ECAP
        ("out_white", None, 1000, 150, 1000, 450),  # 15% < 20% → no
        ("out_poor", "", 1000, 250, 1000, 350),  # 35% < 40% (no CBSA multiple) → no
    ]
    columns = ["geoid", "cbsa_geoid", "total", "nonwhite", "poverty_universe", "below_poverty"]
    return pd.DataFrame(rows, columns=columns)


DEFAULT_RECAPS = {"a_above", "a_exact", "b_above", "out_above"}


def recaps(flagged: pd.DataFrame) -> set[str]:
    return set(flagged.loc[flagged["recap"], "geoid"])


def row(flagged: pd.DataFrame, geoid: str) -> pd.Series:
    return flagged.set_index("geoid").loc[geoid]


def test_recaps_under_hud_defaults():
    flagged = flag_recaps(synthetic_tracts())
    assert recaps(flagged) == DEFAULT_RECAPS
    assert flagged["recap"].dtype == bool
    assert list(flagged.columns[-len(RECAP_COLUMNS) :]) == RECAP_COLUMNS


def test_cbsa_mean_is_the_unweighted_mean_over_tracts_with_a_poverty_universe():
    flagged = flag_recaps(synthetic_tracts())
    a, b = row(flagged, "a_above"), row(flagged, "b_above")
    # See synthetic_tracts: 1.20 / 12 and 1.60 / 8. Counting the dorm (rate 0) would give
    # 1.20 / 13 ≈ 0.092.
    assert a["cbsa_mean_poverty_rate"] == pytest.approx(0.10)
    assert b["cbsa_mean_poverty_rate"] == pytest.approx(0.20)
    # The lower threshold governs: min(0.40, 0.30) and min(0.40, 0.60).
    assert a["poverty_threshold"] == pytest.approx(0.30)
    assert b["poverty_threshold"] == pytest.approx(0.40)
    assert a["nonwhite_threshold"] == pytest.approx(0.50)
    out = row(flagged, "out_above")
    assert math.isnan(out["cbsa_mean_poverty_rate"])
    assert out["poverty_threshold"] == pytest.approx(0.40)
    assert out["nonwhite_threshold"] == pytest.approx(0.20)
    assert row(flagged, "out_white")["nonwhite_threshold"] == pytest.approx(0.20)


def test_cbsa_mean_is_not_population_weighted():
    tracts = synthetic_tracts()
    # Synthetic: make b_fill0 ten times bigger (10,000 people, 500 poor: still 5%). Each
    # tract counts once, so the mean stays 1.60 / 8 = 0.20 (pooled it would be
    # (410+390+550+500+4·50) / 17,000 ≈ 0.12, and 3 × 0.12 < 0.40 would flag b_below).
    tracts.loc[tracts["geoid"] == "b_fill0", ["total", "nonwhite"]] = [10_000, 6_000]
    tracts.loc[tracts["geoid"] == "b_fill0", ["poverty_universe", "below_poverty"]] = [
        10_000,
        500,
    ]
    flagged = flag_recaps(tracts)
    assert row(flagged, "b_above")["cbsa_mean_poverty_rate"] == pytest.approx(0.20)
    assert recaps(flagged) == DEFAULT_RECAPS


def test_rate_equal_to_the_threshold_up_to_rounding_qualifies():
    # Synthetic CBSA: rates .3, .1, 0, 0 → mean 0.1; 3 × 0.1 = 0.30000000000000004 in
    # floating point, a hair above the tract's 300/1000 = 0.3. "Three or more times" the
    # mean still holds, so the tract is an R/ECAP.
    tracts = pd.DataFrame(
        {
            "geoid": ["exact", "t2", "t3", "t4"],
            "cbsa_geoid": ["33333"] * 4,
            "total": [1000] * 4,
            "nonwhite": [600, 0, 0, 0],
            "poverty_universe": [1000] * 4,
            "below_poverty": [300, 100, 0, 0],
        }
    )
    flagged = flag_recaps(tracts)
    exact = row(flagged, "exact")
    assert exact["poverty_threshold"] > exact["poverty_rate"]  # the rounding is real
    assert exact["poverty_threshold"] == pytest.approx(0.3)
    assert recaps(flagged) == {"exact"}


def test_shares_and_rates():
    flagged = flag_recaps(synthetic_tracts())
    a = row(flagged, "a_above")
    assert a["nonwhite_share"] == pytest.approx(0.60)
    assert a["poverty_rate"] == pytest.approx(0.31)
    dorm = row(flagged, "a_dorm")
    assert dorm["nonwhite_share"] == pytest.approx(0.80)
    assert math.isnan(dorm["poverty_rate"])
    assert not dorm["recap"]


def test_zero_population_tract_has_no_shares_and_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="housing_segregation.recap"):
        flagged = flag_recaps(synthetic_tracts())
    empty = row(flagged, "a_empty")
    assert math.isnan(empty["nonwhite_share"])
    assert math.isnan(empty["poverty_rate"])
    assert not empty["recap"]
    # a_empty has no people; a_empty and a_dorm have no poverty universe.
    assert "1 tracts with no population and 2 with no poverty universe" in caplog.text
    assert "4 of 25 tracts are R/ECAPs" in caplog.text


def test_input_is_not_modified():
    tracts = synthetic_tracts()
    before = tracts.copy()
    flag_recaps(tracts)
    pd.testing.assert_frame_equal(tracts, before)


# --------------------------------------------------------------------------------------------
# R/ECAPs of a CBSA that crosses a state line
# --------------------------------------------------------------------------------------------


def synthetic_elsewhere(**rows) -> pd.DataFrame:
    """cbsa_rates_elsewhere's table, written by hand: code -> (rated tracts, sum of rates)."""
    return pd.DataFrame(
        [(count, total, "complete") for count, total in rows.values()],
        columns=["rated_tracts", "rate_sum", "coverage"],
        index=pd.Index(list(rows), name="cbsa_geoid"),
    )


#: CBSA 11111 reaches into another state, whose 3 tracts have rates summing to 1.80: the
#: mean is (1.20 + 1.80) / (12 + 3) = 0.20, so 3 × 0.20 = 0.60 > 0.40 and the 40% floor
#: governs there: a_above (31%) and a_exact (30%) are no longer R/ECAPs.
ELSEWHERE_11111 = {"c11111": (3, 1.80)}


def test_cbsa_mean_counts_the_tracts_in_other_states():
    elsewhere = synthetic_elsewhere(**ELSEWHERE_11111).rename(index=lambda code: code[1:])
    flagged = flag_recaps(synthetic_tracts(), elsewhere=elsewhere)
    assert row(flagged, "a_below")["cbsa_mean_poverty_rate"] == pytest.approx(0.20)
    assert row(flagged, "a_below")["poverty_threshold"] == pytest.approx(0.40)
    assert row(flagged, "b_above")["cbsa_mean_poverty_rate"] == pytest.approx(0.20)  # as before
    assert recaps(flagged) == DEFAULT_RECAPS - {"a_above", "a_exact"}


def test_batched_thresholds_count_the_tracts_in_other_states_alike():
    tracts = synthetic_tracts()
    elsewhere = synthetic_elsewhere(**ELSEWHERE_11111).rename(index=lambda code: code[1:])
    cbsa = tracts["cbsa_geoid"].replace("", None)
    codes, found = pd.factorize(cbsa)
    known = elsewhere.reindex(found)
    by_code = (known["rated_tracts"].fillna(0).to_numpy(), known["rate_sum"].fillna(0).to_numpy())
    counts = {name: tracts[name].to_numpy(float)[None, :].repeat(2, axis=0)
              for name in ("total", "nonwhite", "poverty_universe", "below_poverty")}  # fmt: skip
    thresholds = recap_thresholds(counts["poverty_universe"], counts["below_poverty"], codes,
                                  elsewhere=by_code)  # fmt: skip
    flags = recap_flags(counts["total"], counts["nonwhite"], counts["poverty_universe"],
                        counts["below_poverty"], thresholds)  # fmt: skip
    expected = flag_recaps(tracts, elsewhere=elsewhere)
    np.testing.assert_allclose(thresholds[0][1], expected["poverty_threshold"], rtol=1e-12)
    assert (flags == expected["recap"].to_numpy()).all()
    with pytest.raises(ValueError, match="elsewhere: expected 2 values per CBSA code"):
        recap_thresholds(counts["poverty_universe"], counts["below_poverty"], codes,
                         elsewhere=(np.zeros(3), np.zeros(3)))  # fmt: skip


def state_tracts(state: str, rows: list[tuple]) -> pd.DataFrame:
    """SYNTHETIC tracts of one state: (geoid, cbsa, poverty_universe, below_poverty)."""
    table = pd.DataFrame(rows, columns=["geoid", "cbsa_geoid", "poverty_universe", "below_poverty"])
    return table.assign(state_fips=state)


def test_rates_elsewhere_sum_the_other_states_tracts_and_say_what_is_missing(caplog):
    own = state_tracts("09", [("09a", "11111", 100, 10), ("09b", "22222", 100, 10),
                              ("09c", "33333", 100, 10), ("09d", None, 100, 10)])  # fmt: skip
    # Rates 0.50 and 0.10 in 11111; a tract without a poverty universe has no rate; a
    # tract of a CBSA the state does not share counts nowhere.
    other = state_tracts("25", [("25a", "11111", 200, 100), ("25b", "11111", 50, 5),
                                ("25c", "11111", 0, 0), ("25d", "44444", 100, 90)])  # fmt: skip
    spans = {"11111": ["09", "25"], "22222": ["09", "34", "36"], "44444": ["25", "33"]}
    with caplog.at_level(logging.WARNING):
        table = cbsa_rates_elsewhere(own, [other], spans)
    assert list(table.index) == ["11111", "22222"]  # 33333 lies in one state
    assert table.loc["11111", "rated_tracts"] == 2
    assert table.loc["11111", "rate_sum"] == pytest.approx(0.60)
    assert table.loc["11111", "coverage"] == "complete"
    assert table.loc["22222", "rated_tracts"] == 0
    assert table.loc["22222", "coverage"] == "partial"
    assert "CBSA 22222 spans state(s) 34 36 whose tracts are not at hand" in caplog.text
    assert "11111" not in caplog.text


def test_rates_elsewhere_refuse_bad_tables():
    own = state_tracts("09", [("09a", "11111", 100, 10)])
    spans = {"11111": ["09", "25"]}
    with pytest.raises(ValueError, match=r"another table holds tracts of state\(s\) \['09'\]"):
        cbsa_rates_elsewhere(own, [state_tracts("09", [("09z", "11111", 100, 10)])], spans)
    bad = state_tracts("25", [("25a", "11111", 100, 110)])
    with pytest.raises(ValueError, match="below_poverty exceeds poverty_universe in tract 25a"):
        cbsa_rates_elsewhere(own, [bad], spans)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['state_fips'\]"):
        cbsa_rates_elsewhere(own.drop(columns="state_fips"), [], spans)


def test_elsewhere_is_read_back_from_the_recap_table():
    recaps_table = pd.DataFrame(
        {
            "cbsa_geoid": ["11111", "11111", None, "22222"],
            "cbsa_rated_tracts_elsewhere": [3, 3, 0, 0],
            "cbsa_rate_sum_elsewhere": [1.8, 1.8, 0.0, 0.0],
            "cbsa_coverage": ["complete", "complete", "", "partial"],
        }
    )
    read = elsewhere_of(recaps_table)
    assert list(read.index) == ["11111", "22222"]
    assert read.loc["11111"].tolist() == [3, 1.8]


@pytest.mark.parametrize(
    ("kwargs", "added", "removed"),
    [
        # 2 × 10% = 20% in 11111: a_below (29%) qualifies; 22222: min(.40, .40) unchanged.
        ({"cbsa_multiple": 2.0}, {"a_below"}, set()),
        # 4 × 10% = 40% in 11111: a_above (31%) and a_exact (30%) drop out.
        ({"cbsa_multiple": 4.0}, set(), {"a_above", "a_exact"}),
        # 45% non-white in CBSAs: a_white (49%, 30%) and b_white (45%, 55%) qualify.
        ({"nonwhite_share_in_cbsa": 0.45}, {"a_white", "b_white"}, set()),
        # 65% non-white: a_above (60%) and a_exact (50%) drop; b_above (70%) stays.
        ({"nonwhite_share_in_cbsa": 0.65}, set(), {"a_above", "a_exact"}),
        # 10% outside: out_white (15%, 45%) qualifies.
        ({"nonwhite_share_outside_cbsa": 0.10}, {"out_white"}, set()),
        # Floor 35%: b_below (39%) and out_poor (35%) qualify; 11111 keeps 30%.
        ({"poverty_rate_floor": 0.35}, {"b_below", "out_poor"}, set()),
        # Floor 25% in 11111 beats 3 × 10%: a_below (29%) qualifies.
        ({"poverty_rate_floor": 0.25}, {"a_below", "b_below", "out_poor"}, set()),
    ],
)
def test_thresholds_are_configurable(kwargs, added, removed):
    flagged = flag_recaps(synthetic_tracts(), **kwargs)
    assert recaps(flagged) == (DEFAULT_RECAPS | added) - removed


def test_threshold_columns_follow_the_arguments():
    flagged = flag_recaps(
        synthetic_tracts(), nonwhite_share_in_cbsa=0.6, nonwhite_share_outside_cbsa=0.3
    )
    assert row(flagged, "b_above")["nonwhite_threshold"] == pytest.approx(0.6)
    assert row(flagged, "out_above")["nonwhite_threshold"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("nonwhite_share_in_cbsa", 0),
        ("nonwhite_share_in_cbsa", 1.5),
        ("nonwhite_share_in_cbsa", -0.5),
        ("nonwhite_share_in_cbsa", float("nan")),
        ("nonwhite_share_outside_cbsa", 0.0),
        ("nonwhite_share_outside_cbsa", 2),
        ("poverty_rate_floor", 0),
        ("poverty_rate_floor", 1.01),
        ("poverty_rate_floor", "0.4"),
        ("cbsa_multiple", 0),
        ("cbsa_multiple", -3.0),
        ("cbsa_multiple", float("inf")),
        ("cbsa_multiple", True),
    ],
)
def test_invalid_thresholds_name_the_argument(name, value):
    with pytest.raises(ValueError, match=name):
        flag_recaps(synthetic_tracts(), **{name: value})


def test_share_thresholds_of_one_are_allowed():
    # 100% non-white needed: no synthetic tract is entirely non-white.
    assert recaps(flag_recaps(synthetic_tracts(), nonwhite_share_in_cbsa=1.0)) == {"out_above"}


def test_missing_columns_are_named():
    tracts = synthetic_tracts().drop(columns=["cbsa_geoid", "below_poverty"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['below_poverty', 'cbsa_geoid'\]"):
        flag_recaps(tracts)


def test_missing_counts_are_refused():
    tracts = synthetic_tracts()
    tracts["total"] = tracts["total"].astype(float)
    tracts.loc[tracts["geoid"] == "b_white", "total"] = np.nan
    with pytest.raises(ValueError, match="total is missing for tract b_white"):
        flag_recaps(tracts)


def test_impossible_counts_are_refused():
    tracts = synthetic_tracts()
    tracts.loc[tracts["geoid"] == "b_white", "below_poverty"] = 1001
    with pytest.raises(ValueError, match="below_poverty exceeds poverty_universe in tract b_white"):
        flag_recaps(tracts)


def test_malformed_cbsa_codes_are_refused():
    tracts = synthetic_tracts()
    tracts.loc[tracts["geoid"] == "b_white", "cbsa_geoid"] = "2222"
    with pytest.raises(ValueError, match="'2222' of tract b_white is not a 5-digit CBSA code"):
        flag_recaps(tracts)


# --------------------------------------------------------------------------------------------
# Location quotients
# --------------------------------------------------------------------------------------------


def lq_tracts() -> pd.DataFrame:
    """Synthetic: area X has G = 50 + 50 = 100, H = 0 + 150 = 150 of T = 400;
    area Y has G = 0, H = 100 of T = 200; one tract has no area."""
    return pd.DataFrame(
        {
            "geoid": ["x1", "x2", "y1", "y_empty", "nowhere"],
            "county_geoid": ["X", "X", "Y", "Y", None],
            "total": [100, 300, 200, 0, 50],
            "g": [50, 50, 0, 0, 10],
            "h": [0, 150, 100, 0, 10],
        }
    )


def test_location_quotients_hand_computed(caplog):
    with caplog.at_level(logging.INFO, logger="housing_segregation.recap"):
        quotients = location_quotients(lq_tracts(), ["g", "h"], by="county_geoid")
    assert list(quotients.columns) == ["lq_g", "lq_h"]
    assert list(quotients.index) == list(lq_tracts().index)
    expected = pd.DataFrame(
        {
            # X: G/T = 100/400 = 0.25. x1: 0.5/0.25 = 2; x2: (50/300)/0.25 = 2/3.
            # Y has no g → NaN; y_empty has no people; `nowhere` has no area.
            "lq_g": [2.0, 2 / 3, np.nan, np.nan, np.nan],
            # X: H/T = 150/400 = 0.375. x1: 0; x2: 0.5/0.375 = 4/3.
            # Y: H/T = 100/200 = 0.5. y1: (100/200)/0.5 = 1.
            "lq_h": [0.0, 4 / 3, 1.0, np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(quotients, expected, rtol=1e-12)
    assert "1 tracts have no county_geoid" in caplog.text
    assert "g: 1 areas (2 tracts) by county_geoid have no members" in caplog.text


def test_location_quotients_of_an_evenly_spread_group_are_one():
    # Synthetic: g is 10% of every tract, so g_i/t_i = G/T and every LQ is 1.
    tracts = pd.DataFrame({"area": ["a"] * 3, "total": [10, 20, 70], "g": [1, 2, 7]})
    quotients = location_quotients(tracts, ["g"], by="area")
    np.testing.assert_allclose(quotients["lq_g"], 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("groups", "by", "match"),
    [
        (["g", "missing_group"], "county_geoid", r"missing column\(s\) \['missing_group'\]"),
        (["g"], "cbsa_geoid", r"missing column\(s\) \['cbsa_geoid'\]"),
        ("g", "county_geoid", "list of column names"),
        ([], "county_geoid", "groups is empty"),
        (["g", "g"], "county_geoid", "more than once"),
    ],
)
def test_location_quotient_inputs_are_checked(groups, by, match):
    with pytest.raises(ValueError, match=match):
        location_quotients(lq_tracts(), groups, by=by)


def test_location_quotients_refuse_a_group_above_total():
    tracts = lq_tracts()
    tracts.loc[0, "g"] = 101
    with pytest.raises(ValueError, match="g exceeds total in tract x1"):
        location_quotients(tracts, ["g"], by="county_geoid")


# --------------------------------------------------------------------------------------------
# Local entropy
# --------------------------------------------------------------------------------------------


def entropy_tracts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geoid": ["even", "one", "half_quarters", "empty"],
            "total": [10, 7, 8, 0],
            "a": [5, 7, 4, 0],
            "b": [5, 0, 2, 0],
            "c": [0, 0, 2, 0],
        }
    )


def test_local_entropy_hand_computed(caplog):
    with caplog.at_level(logging.INFO, logger="housing_segregation.recap"):
        entropy = local_entropy(entropy_tracts(), ["a", "b", "c"])
    assert entropy.name == "local_entropy"
    # even: ½, ½, 0 → −2 · ½ ln ½ = ln 2 (0 · ln 0 = 0).
    # one: 1, 0, 0 → 0.
    # half_quarters: ½, ¼, ¼ → ½ ln 2 + 2 · ¼ ln 4 = ½ ln 2 + ln 2 = 1.5 ln 2.
    # empty: no people → NaN.
    expected = [math.log(2), 0.0, 1.5 * math.log(2), np.nan]
    np.testing.assert_allclose(entropy.to_numpy(), expected, rtol=1e-12, atol=0)
    assert "1 tracts with no population: local entropy undefined" in caplog.text


def test_local_entropy_normalised_hand_computed():
    normalised = local_entropy_normalised(entropy_tracts(), ["a", "b", "c"])
    assert normalised.name == "local_entropy_normalised"
    # Divide by ln 3: ln 2 / ln 3, 0, 1.5 ln 2 / ln 3.
    expected = [math.log(2) / math.log(3), 0.0, 1.5 * math.log(2) / math.log(3), np.nan]
    np.testing.assert_allclose(normalised.to_numpy(), expected, rtol=1e-12, atol=0)


def test_two_equal_groups_give_ln_two_and_normalised_one():
    # Synthetic: one tract, 3 + 3 of 6.
    tracts = pd.DataFrame({"total": [6], "a": [3], "b": [3]})
    assert local_entropy(tracts, ["a", "b"]).iloc[0] == pytest.approx(math.log(2))
    assert local_entropy_normalised(tracts, ["a", "b"]).iloc[0] == pytest.approx(1.0)


def test_single_group_entropy_is_zero_but_cannot_be_normalised():
    tracts = pd.DataFrame({"total": [6, 0], "a": [6, 0]})
    entropy = local_entropy(tracts, ["a"])
    assert entropy.iloc[0] == 0.0
    assert not math.copysign(1.0, entropy.iloc[0]) < 0  # +0.0, not −0.0
    assert math.isnan(entropy.iloc[1])
    with pytest.raises(ValueError, match="at least two groups"):
        local_entropy_normalised(tracts, ["a"])


def test_groups_must_partition_total():
    tracts = entropy_tracts()
    tracts.loc[2, "total"] = 9  # half_quarters: 4 + 2 + 2 = 8 ≠ 9
    with pytest.raises(ValueError, match=r"sum to 8, not total 9, in tract half_quarters"):
        local_entropy(tracts, ["a", "b", "c"])
    with pytest.raises(ValueError, match="in tract half_quarters"):
        local_entropy_normalised(tracts, ["a", "b", "c"])


def test_partition_allows_half_a_person_of_rounding():
    tracts = pd.DataFrame({"total": [10.0], "a": [5.2], "b": [5.2]})  # 10.4, within 0.5
    assert local_entropy(tracts, ["a", "b"]).iloc[0] == pytest.approx(math.log(2))


def test_entropy_inputs_are_checked():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['d'\]"):
        local_entropy(entropy_tracts(), ["a", "d"])
    with pytest.raises(ValueError, match="groups is empty"):
        local_entropy(entropy_tracts(), [])


# --------------------------------------------------------------------------------------------
# Real data: Connecticut, ACS 2019–2023
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_2023(shared_data, ct_tracts_2023) -> pd.DataFrame:
    """The 2023 CT tract table (as tests/test_indices.py builds it) with each tract's CBSA.

    The 2023 table's counties are planning regions, while the 2020 delineation lists the
    old counties, so the CBSA comes through the boundary GEOID's (old) county."""
    tracts = ct_tracts_2023.copy()
    delineation = pd.read_csv(shared_data / "delineations" / "cbsa_2020_state09.csv", dtype=str)
    cbsa_of_county = dict(
        zip(
            delineation["FIPS State Code"] + delineation["FIPS County Code"],
            delineation["CBSA Code"],
            strict=True,
        )
    )
    table = pd.DataFrame(tracts.drop(columns="geometry"))
    table["cbsa_geoid"] = table["boundary_geoid"].str[:5].map(cbsa_of_county)
    return table


def test_ct_every_tract_lies_in_a_cbsa(ct_2023):
    # All eight old Connecticut counties belong to a CBSA (2020 delineation).
    assert ct_2023["cbsa_geoid"].notna().all()
    assert ct_2023["cbsa_geoid"].nunique() == 6


def test_ct_recaps_match_an_independent_computation(ct_2023):
    flagged = flag_recaps(ct_2023)
    # HUD's definition in plain pandas.
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (ct_2023["below_poverty"] / ct_2023["poverty_universe"]).where(
            ct_2023["poverty_universe"] > 0
        )
        share = (ct_2023["nonwhite"] / ct_2023["total"]).where(ct_2023["total"] > 0)
    mean_of_cbsa = rate.groupby(ct_2023["cbsa_geoid"]).mean()
    cbsa_mean = ct_2023["cbsa_geoid"].map(mean_of_cbsa)
    threshold = np.minimum(0.40, 3 * cbsa_mean)
    expected = (share >= 0.50) & (rate >= threshold)

    assert flagged["recap"].tolist() == expected.tolist()
    np.testing.assert_allclose(flagged["poverty_rate"], rate, rtol=1e-12)
    np.testing.assert_allclose(flagged["nonwhite_share"], share, rtol=1e-12)
    np.testing.assert_allclose(flagged["cbsa_mean_poverty_rate"], cbsa_mean, rtol=1e-12)
    np.testing.assert_allclose(flagged["poverty_threshold"], threshold, rtol=1e-12)
    # No tract sits within rounding of a threshold, so the slack changes nothing here.
    eligible = flagged[flagged["nonwhite_share"] >= 0.5]
    assert (eligible["poverty_rate"] - eligible["poverty_threshold"]).abs().min() > 1e-6


def test_ct_has_some_but_not_all_tracts_as_recaps(ct_2023):
    flagged = flag_recaps(ct_2023)
    n_recaps = int(flagged["recap"].sum())
    assert 0 < n_recaps < len(flagged)
    # In every Connecticut CBSA 3 × the mean tract poverty rate (9–13%) is below 40%.
    assert (flagged["poverty_threshold"] < 0.40).all()
    towns = set(flagged.loc[flagged["recap"], "town_name"])
    assert {"Hartford", "New Haven", "Bridgeport", "Waterbury"} <= towns
    # Tracts with no people (3 in CT 2023) are never flagged.
    assert not flagged.loc[flagged["total"] == 0, "recap"].any()


def test_ct_location_quotients_average_one_over_each_county(ct_2023):
    groups = ["black_nh", "hispanic", "asian_nh", "nonwhite"]
    quotients = location_quotients(ct_2023, groups, by="county_geoid")
    populated = ct_2023["total"] > 0
    assert quotients[populated].notna().all().all()
    assert quotients[~populated].isna().all().all()
    # Σ_i t_i LQ_gi = Σ_i g_i / (G_r/T_r) = T_r: the population-weighted mean LQ is 1.
    for group in groups:
        weighted = (quotients[f"lq_{group}"] * ct_2023["total"]).groupby(
            ct_2023["county_geoid"]
        ).sum() / ct_2023.groupby("county_geoid")["total"].sum()
        np.testing.assert_allclose(weighted, 1.0, rtol=1e-12)


def test_ct_local_indices_match_pysal(ct_2023):
    from segregation.local import MultiLocalEntropy, MultiLocationQuotient

    populated = ct_2023[ct_2023["total"] > 0].reset_index(drop=True)
    # PySAL's location quotient is relative to the whole table: one area.
    quotients = location_quotients(populated.assign(state="09"), RACE_GROUPS, by="state")
    pysal_lq = MultiLocationQuotient(populated, RACE_GROUPS).statistics
    np.testing.assert_allclose(quotients.to_numpy(), pysal_lq, rtol=1e-10)
    # PySAL's local entropy is normalised by ln K.
    normalised = local_entropy_normalised(populated, RACE_GROUPS)
    pysal_entropy = MultiLocalEntropy(populated, RACE_GROUPS).statistics
    np.testing.assert_allclose(normalised, pysal_entropy, rtol=1e-10)
    entropy = local_entropy(ct_2023, RACE_GROUPS)
    assert entropy[ct_2023["total"] == 0].isna().all()
    assert entropy.between(0, math.log(len(RACE_GROUPS))).sum() == len(populated)


def test_recap_table_carries_what_the_cbsa_mean_took_from_elsewhere(ct_tracts_2023):
    """Real Connecticut tracts: Worcester, MA-CT (49340) without Massachusetts is partial."""
    spans = {"49340": ["09", "25"]}
    table = recap_table(ct_tracts_2023, {}, cbsa_rates_elsewhere(ct_tracts_2023, [], spans))
    worcester = table["cbsa_geoid"] == "49340"
    assert worcester.any() and (table.loc[worcester, "cbsa_coverage"] == "partial").all()
    assert (table.loc[~worcester, "cbsa_coverage"] == "complete").all()
    assert (table["cbsa_rated_tracts_elsewhere"] == 0).all()
    # Without other states' tracts the thresholds are those of the state's own.
    alone = recap_table(ct_tracts_2023, {})
    assert (alone["cbsa_coverage"] == "complete").all()
    np.testing.assert_array_equal(alone["poverty_threshold"], table["poverty_threshold"])
    assert elsewhere_of(table)["rated_tracts"].eq(0).all()


def test_recap_map_says_which_cbsa_means_are_partial(ct_tracts_2023):
    import matplotlib.pyplot as plt

    from housing_segregation.figures import recap_map

    spans = {"49340": ["09", "25"]}
    partial = recap_table(ct_tracts_2023, {}, cbsa_rates_elsewhere(ct_tracts_2023, [], spans))
    for table, noted in ((partial, True), (recap_table(ct_tracts_2023, {}), False)):
        figure = recap_map(table, delineation="2020", analysis_version="test")
        texts = " ".join(text.get_text() for text in figure.texts)
        plt.close(figure)
        sentence = "The CBSA mean of Worcester, MA-CT is over Connecticut's tracts only"
        assert (sentence in texts) == noted


def test_recap_map_labels_cover_no_other_label(ct_tracts_2023):
    """Real Connecticut 2023: every town with an R/ECAP tract is labelled (11), and no two
    labels' boxes overlap as drawn (Waterbury's and Meriden's did, 2026-11-28)."""
    import matplotlib.pyplot as plt

    from housing_segregation.figures import recap_map

    figure = recap_map(recap_table(ct_tracts_2023, {}), delineation="2020", analysis_version="t")
    ax = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    plt.close(figure)
    assert len(boxes) == 11
    for first in range(len(boxes)):
        for second in range(first + 1, len(boxes)):
            assert not boxes[first].overlaps(boxes[second]), (ax.texts[first], ax.texts[second])
