"""Tract-level concentration measures: HUD's R/ECAPs, location quotients and local entropy.

Pure, vectorised functions over the tidy tract table (docs/outputs.md). Each checks its
inputs and raises ``ValueError`` naming the offending argument, column or tract.

References
----------
- HUD, *AFFH Data Documentation* (AFFH-T data, 2017 and 2019 editions), section
  "Racially or Ethnically Concentrated Areas of Poverty (R/ECAPs)": a tract is an R/ECAP
  if its non-white population is 50 percent or more and its poverty rate is 40 percent or
  more "or is three or more times the average tract poverty rate for the
  metropolitan/micropolitan area, whichever threshold is lower"; outside CBSAs the
  non-white threshold is 20 percent. The 40 percent line is Wilson's (1980) extreme-poverty
  neighbourhood. The AFFH rule (80 FR 42272, 16 July 2015; 24 CFR 5.152) names R/ECAPs.
- Isard, W. (1960), *Methods of Regional Analysis*, MIT Press: the location quotient.
- Reardon, S. F. and O'Sullivan, D. (2004), "Measures of spatial segregation",
  *Sociological Methodology* 34: 121-162, eq. 6 (unit entropy); White, M. J. (1986),
  "Segregation and diversity measures in population distribution", *Population Index*
  52(2): 198-221.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from numbers import Real

import geopandas as gpd
import numpy as np
import pandas as pd

from .cross_state import coverage
from .measure import COMPLETE
from .tracts import ID_COLUMNS

log = logging.getLogger(__name__)

#: Columns flag_recaps adds, in order.
RECAP_COLUMNS = [
    "nonwhite_share",
    "poverty_rate",
    "cbsa_mean_poverty_rate",
    "poverty_threshold",
    "nonwhite_threshold",
    "recap",
]

#: Slack when comparing a share with its threshold, so that a share equal to the threshold
#: up to floating-point rounding counts as "or more" (30/100 = 0.3, but 3 x 0.1 gives
#: 0.30000000000000004). Distinct ratios of tract counts differ by far more than this.
ROUNDING_SLACK = 1e-12

#: How far (in persons) the groups given to local_entropy may sum from ``total``.
PARTITION_TOLERANCE = 0.5


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _tract_label(tracts: pd.DataFrame, position: int) -> str:
    """The tract's GEOID when the table has one, else its index label."""
    if "geoid" in tracts.columns:
        return str(tracts["geoid"].iloc[position])
    return repr(tracts.index[position])


def _require_columns(tracts: pd.DataFrame, columns: Sequence[str], caller: str) -> None:
    missing = [column for column in dict.fromkeys(columns) if column not in tracts.columns]
    if missing:
        raise ValueError(f"{caller}: tract table is missing column(s) {missing}")


def _counts(tracts: pd.DataFrame, columns: Sequence[str], caller: str) -> pd.DataFrame:
    """The count columns as float64, refusing missing, infinite and negative counts."""
    counts = {}
    for column in dict.fromkeys(columns):
        try:
            values = tracts[column].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{caller}: column {column!r} is not numeric") from error
        for bad, what in ((~np.isfinite(values), "missing"), (values < 0, "negative")):
            if bad.any():
                tract = _tract_label(tracts, int(np.flatnonzero(bad)[0]))
                raise ValueError(f"{caller}: {column} is {what} for tract {tract}")
        counts[column] = values
    return pd.DataFrame(counts, index=tracts.index)


def _not_above(
    tracts: pd.DataFrame, counts: pd.DataFrame, part: str, whole: str, caller: str
) -> None:
    exceeds = (counts[part] > counts[whole]).to_numpy()
    if exceeds.any():
        tract = _tract_label(tracts, int(np.flatnonzero(exceeds)[0]))
        raise ValueError(f"{caller}: {part} exceeds {whole} in tract {tract}")


def _groups(groups: Sequence[str], caller: str) -> list[str]:
    if isinstance(groups, str):
        raise ValueError(f"{caller}: groups must be a list of column names, not {groups!r}")
    listed = list(groups)
    if not listed:
        raise ValueError(f"{caller}: groups is empty")
    repeated = sorted({group for group in listed if listed.count(group) > 1})
    if repeated:
        raise ValueError(f"{caller}: groups lists {repeated} more than once")
    return listed


def _area_keys(tracts: pd.DataFrame, column: str) -> pd.Series:
    """Area codes as text, with missing and blank codes as NA (no area)."""
    keys = tracts[column].astype("string").str.strip()
    return keys.mask(keys == "")


def _check_share(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not 0 < value <= 1
    ):
        raise ValueError(f"{name} must be a share in (0, 1], got {value!r}")
    return float(value)


def _check_positive(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    num, den = numerator.to_numpy(), denominator.to_numpy()
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


# --------------------------------------------------------------------------------------------
# R/ECAPs
# --------------------------------------------------------------------------------------------


def flag_recaps(
    tracts: pd.DataFrame,
    *,
    nonwhite_share_in_cbsa: float = 0.50,
    nonwhite_share_outside_cbsa: float = 0.20,
    poverty_rate_floor: float = 0.40,
    cbsa_multiple: float = 3.0,
    elsewhere: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Flag racially/ethnically concentrated areas of poverty (R/ECAPs), HUD's definition.

    A tract is an R/ECAP when both hold:

    - its non-white share, ``nonwhite / total`` (everyone but non-Hispanic white), is at
      least ``nonwhite_share_in_cbsa`` (50%), or ``nonwhite_share_outside_cbsa`` (20%) for
      a tract outside every CBSA;
    - its poverty rate, ``below_poverty / poverty_universe``, is at least the lower of
      ``poverty_rate_floor`` (40%) and ``cbsa_multiple`` (3) times its CBSA's mean tract
      poverty rate. Outside CBSAs only the floor applies.

    The CBSA mean is the **unweighted** mean of the poverty rates of the CBSA's tracts with
    a poverty universe above 0, as HUD's AFFH Data Documentation (2017, 2020) defines it:
    "the average tract poverty rate for the metropolitan/micropolitan area", each tract
    counting once whatever its size. It is not the CBSA's pooled poverty rate
    (Σ below / Σ universe), which weights tracts by population. The mean is taken over the
    tracts passed in and, for a CBSA that crosses a state line (e.g. Worcester, MA-CT),
    over its tracts in the other states too: ``elsewhere`` (from
    :func:`cbsa_rates_elsewhere`) gives their number and the sum of their rates per CBSA.

    ``tracts`` needs ``total``, ``nonwhite``, ``poverty_universe``, ``below_poverty`` and
    ``cbsa_geoid`` (a 5-digit CBSA code, or missing/empty for a tract outside every CBSA).
    A tract with ``total`` 0 has no non-white share, one with ``poverty_universe`` 0 no
    poverty rate (NaN); neither is an R/ECAP. Comparisons allow ``ROUNDING_SLACK`` so that
    a share equal to its threshold qualifies.

    Returns a copy of ``tracts`` with ``RECAP_COLUMNS`` added: ``nonwhite_share``,
    ``poverty_rate``, ``cbsa_mean_poverty_rate`` (NaN outside CBSAs),
    ``poverty_threshold`` (the lower of the two poverty thresholds), ``nonwhite_threshold``
    and ``recap`` (bool).
    """
    in_cbsa_share = _check_share("nonwhite_share_in_cbsa", nonwhite_share_in_cbsa)
    outside_share = _check_share("nonwhite_share_outside_cbsa", nonwhite_share_outside_cbsa)
    floor = _check_share("poverty_rate_floor", poverty_rate_floor)
    multiple = _check_positive("cbsa_multiple", cbsa_multiple)
    caller = "flag_recaps"
    count_columns = ["total", "nonwhite", "poverty_universe", "below_poverty"]
    _require_columns(tracts, [*count_columns, "cbsa_geoid"], caller)
    counts = _counts(tracts, count_columns, caller)
    _not_above(tracts, counts, "nonwhite", "total", caller)
    _not_above(tracts, counts, "below_poverty", "poverty_universe", caller)
    cbsa = _area_keys(tracts, "cbsa_geoid")
    malformed = (cbsa.notna() & ~cbsa.str.fullmatch(r"\d{5}")).fillna(False).to_numpy(bool)
    if malformed.any():
        position = int(np.flatnonzero(malformed)[0])
        raise ValueError(
            f"{caller}: cbsa_geoid {cbsa.iloc[position]!r} of tract "
            f"{_tract_label(tracts, position)} is not a 5-digit CBSA code"
        )
    in_cbsa = cbsa.notna().to_numpy(bool)

    nonwhite_share = _ratio(counts["nonwhite"], counts["total"])
    poverty_rate = _ratio(counts["below_poverty"], counts["poverty_universe"])
    codes, names = pd.factorize(cbsa)  # -1 for tracts outside every CBSA
    others = None
    if elsewhere is not None:
        found = elsewhere.reindex(names)
        others = (found["rated_tracts"].fillna(0).to_numpy(float),
                  found["rate_sum"].fillna(0.0).to_numpy(float))  # fmt: skip
    cbsa_mean = _cbsa_means(poverty_rate, codes, len(names), others)
    # fmin ignores the NaN mean outside CBSAs (or of a CBSA without poverty data): the floor.
    poverty_threshold = np.fmin(floor, multiple * cbsa_mean)
    nonwhite_threshold = np.where(in_cbsa, in_cbsa_share, outside_share)
    # NaN shares compare False, so tracts without people or poverty data are never flagged.
    recap = (nonwhite_share >= nonwhite_threshold - ROUNDING_SLACK) & (
        poverty_rate >= poverty_threshold - ROUNDING_SLACK
    )

    no_people = int((counts["total"] == 0).sum())
    no_universe = int((counts["poverty_universe"] == 0).sum())
    if no_people or no_universe:
        log.info(
            "%d tracts with no population and %d with no poverty universe: shares left "
            "undefined, not R/ECAPs",
            no_people,
            no_universe,
        )
    log.info(
        "%d of %d tracts are R/ECAPs (%d of %d in CBSAs, %d of %d outside)",
        int(recap.sum()),
        len(recap),
        int(recap[in_cbsa].sum()),
        int(in_cbsa.sum()),
        int(recap[~in_cbsa].sum()),
        int((~in_cbsa).sum()),
    )
    result = tracts.copy()
    result["nonwhite_share"] = nonwhite_share
    result["poverty_rate"] = poverty_rate
    result["cbsa_mean_poverty_rate"] = cbsa_mean
    result["poverty_threshold"] = poverty_threshold
    result["nonwhite_threshold"] = nonwhite_threshold
    result["recap"] = recap.astype(bool)
    return result


#: Columns of :func:`cbsa_rates_elsewhere`, per CBSA.
ELSEWHERE_COLUMNS = ["rated_tracts", "rate_sum", "coverage"]

#: The columns :func:`cbsa_rates_elsewhere` reads of the other states' tract tables (a
#: whole state's table need not be read with its geometry).
OTHER_STATE_COLUMNS = ["geoid", "state_fips", "cbsa_geoid", "poverty_universe", "below_poverty"]


def cbsa_rates_elsewhere(
    tracts: pd.DataFrame, others: Sequence[pd.DataFrame], spans: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The poverty rates outside one state's tract table of its CBSAs that cross state
    lines, for :func:`flag_recaps`'s CBSA mean.

    ``tracts``: the state's tract table; ``others``: the tract tables at hand of other
    states (any number, whole states); ``spans``: CBSA code -> every state it spans (the
    run's list of cross-state CBSAs). Returns, indexed by ``cbsa_geoid``, one row per CBSA
    of ``tracts`` found in ``spans``: ``rated_tracts`` and ``rate_sum``, the number of its
    tracts in ``others`` with a poverty universe and the sum of their rates, and
    ``coverage``: ``complete`` when a table of every state it spans is at hand, else
    ``partial`` (logged: its mean, and so its threshold, is that of the tracts at hand).
    """
    caller = "cbsa_rates_elsewhere"
    own = _states(tracts, caller)
    cbsa = _area_keys(tracts, "cbsa_geoid")
    crossing = sorted(set(cbsa.dropna()) & set(spans))
    rates = []
    for other in others:
        _require_columns(other, OTHER_STATE_COLUMNS[2:], caller)
        counts = _counts(other, ["poverty_universe", "below_poverty"], caller)
        _not_above(other, counts, "below_poverty", "poverty_universe", caller)
        rates.append(
            pd.DataFrame(
                {
                    "cbsa_geoid": _area_keys(other, "cbsa_geoid"),
                    "rate": _ratio(counts["below_poverty"], counts["poverty_universe"]),
                }
            )
        )
    other_states = set().union(*(_states(other, caller) for other in others))
    if own & other_states:
        raise ValueError(
            f"{caller}: another table holds tracts of state(s) {sorted(own & other_states)}"
        )
    at_hand = own | other_states
    rated = pd.concat(rates, ignore_index=True) if rates else pd.DataFrame(
        {"cbsa_geoid": pd.Series(dtype="string"), "rate": pd.Series(dtype=float)}
    )  # fmt: skip
    by_cbsa = rated[rated["cbsa_geoid"].isin(crossing)].groupby("cbsa_geoid")["rate"]
    table = pd.DataFrame(
        {
            "rated_tracts": by_cbsa.count().reindex(crossing, fill_value=0).astype(np.int64),
            "rate_sum": by_cbsa.sum().reindex(crossing, fill_value=0.0).astype(float),
            "coverage": [coverage(spans[code], sorted(at_hand)) for code in crossing],
        },
        index=pd.Index(crossing, name="cbsa_geoid"),
    )
    for code in crossing:
        missing = sorted(set(spans[code]) - at_hand)
        if missing:
            log.warning(
                "CBSA %s spans state(s) %s whose tracts are not at hand: its mean tract "
                "poverty rate (the R/ECAP threshold) is that of the tracts at hand, and its "
                "tracts are marked partial",
                code, " ".join(missing),
            )  # fmt: skip
    return table


def _states(tracts: pd.DataFrame, caller: str) -> set[str]:
    _require_columns(tracts, ["state_fips"], caller)
    return set(tracts["state_fips"].astype(str))


def recap_thresholds(
    poverty_universe: np.ndarray,
    below_poverty: np.ndarray,
    cbsa_codes: np.ndarray,
    *,
    nonwhite_share_in_cbsa: float = 0.50,
    nonwhite_share_outside_cbsa: float = 0.20,
    poverty_rate_floor: float = 0.40,
    cbsa_multiple: float = 3.0,
    elsewhere: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The thresholds of :func:`flag_recaps` over batches of counts (shape (..., n tracts);
    CBSAs as integer codes per tract (n,), -1 outside every CBSA): (poverty threshold,
    non-white threshold), each with the counts' shape. The CBSA mean is the unweighted mean
    of the rates of its tracts with a poverty universe, per batch row, and of its tracts in
    other states: ``elsewhere`` = (their number, the sum of their rates) per CBSA code,
    fixed over the batch."""
    universe = np.asarray(poverty_universe, dtype=np.float64)
    below = np.asarray(below_poverty, dtype=np.float64)
    codes = np.asarray(cbsa_codes)
    rate = _batch_ratio(below, universe)
    in_cbsa = codes >= 0
    count = int(codes.max()) + 1 if in_cbsa.any() else 0
    cbsa_mean = _cbsa_means(rate, codes, count, elsewhere)
    poverty = np.fmin(poverty_rate_floor, cbsa_multiple * cbsa_mean)
    nonwhite = np.broadcast_to(
        np.where(in_cbsa, nonwhite_share_in_cbsa, nonwhite_share_outside_cbsa), rate.shape
    )
    return poverty, nonwhite


def _cbsa_means(
    rate: np.ndarray,
    codes: np.ndarray,
    count: int,
    elsewhere: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """Each tract's CBSA mean poverty rate, (..., n tracts) like ``rate``: the unweighted
    mean of the defined rates of the CBSA's tracts (codes 0 … ``count`` − 1; NaN for code
    −1, outside every CBSA, and for a CBSA without a defined rate), per batch row, and of
    its tracts in other states, ``elsewhere`` = (their number, the sum of their rates) per
    code."""
    in_cbsa = codes >= 0
    batch = rate.reshape(-1, rate.shape[-1])
    known = np.isfinite(batch) & in_cbsa
    sums = np.zeros((batch.shape[0], count))
    tracts = np.zeros((batch.shape[0], count))
    np.add.at(sums, (slice(None), codes[in_cbsa]), np.where(known, batch, 0.0)[:, in_cbsa])
    np.add.at(tracts, (slice(None), codes[in_cbsa]), known[:, in_cbsa].astype(float))
    if elsewhere is not None:
        rated, rate_sum = (np.asarray(values, dtype=np.float64) for values in elsewhere)
        if rated.shape != (count,) or rate_sum.shape != (count,):
            raise ValueError(f"elsewhere: expected {count} values per CBSA code, got "
                             f"{rated.shape} and {rate_sum.shape}")  # fmt: skip
        tracts += rated
        sums += rate_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(tracts > 0, sums / np.where(tracts > 0, tracts, 1), np.nan)
    cbsa_mean = np.full(batch.shape, np.nan)
    cbsa_mean[:, in_cbsa] = means[:, codes[in_cbsa]]
    return cbsa_mean.reshape(rate.shape)


def recap_flags(
    total: np.ndarray,
    nonwhite: np.ndarray,
    poverty_universe: np.ndarray,
    below_poverty: np.ndarray,
    thresholds: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """:func:`flag_recaps` over batches of counts (shape (..., n tracts)) against given
    thresholds ((poverty, non-white), from :func:`recap_thresholds`: of the same counts for
    HUD's rule, or of a baseline to hold the thresholds fixed). Same comparisons and slack."""
    share = _batch_ratio(
        np.asarray(nonwhite, dtype=np.float64), np.asarray(total, dtype=np.float64)
    )
    rate = _batch_ratio(
        np.asarray(below_poverty, dtype=np.float64), np.asarray(poverty_universe, dtype=np.float64)
    )
    poverty, nonwhite_threshold = thresholds
    with np.errstate(invalid="ignore"):
        return (share >= nonwhite_threshold - ROUNDING_SLACK) & (rate >= poverty - ROUNDING_SLACK)


def _batch_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


# --------------------------------------------------------------------------------------------
# Location quotients
# --------------------------------------------------------------------------------------------


def location_quotients(tracts: pd.DataFrame, groups: Sequence[str], *, by: str) -> pd.DataFrame:
    """Location quotients LQ_gi = (g_i / t_i) / (G_r / T_r) of each group in each tract.

    ``r`` is the tract's area, given by the column ``by`` (e.g. ``county_geoid`` or
    ``cbsa_geoid``); ``G_r`` and ``T_r`` sum the group and ``total`` over the area's
    tracts. LQ > 1: the group is over-represented in the tract relative to its area
    (Isard 1960; PySAL's ``MultiLocationQuotient`` is the case of a single area).

    NaN where the tract has no people, where its area has no members of the group, or where
    the tract has no area (``by`` missing or empty). Returns a frame indexed like
    ``tracts`` with one column ``lq_<group>`` per group (join it to ``tracts`` as needed).
    """
    caller = "location_quotients"
    groups = _groups(groups, caller)
    _require_columns(tracts, ["total", *groups, by], caller)
    counts = _counts(tracts, ["total", *groups], caller)
    for group in groups:
        _not_above(tracts, counts, group, "total", caller)
    area = _area_keys(tracts, by)
    total = counts["total"]
    has_area = area.notna().to_numpy(bool)
    has_people = (total > 0).to_numpy()
    if not has_area.all():
        log.info("%d tracts have no %s: location quotients undefined", int((~has_area).sum()), by)
    if not has_people.all():
        log.info(
            "%d tracts with no population: location quotients undefined", int((~has_people).sum())
        )
    area_total = total.groupby(area).transform("sum")
    quotients = {}
    for group in groups:
        area_group = counts[group].groupby(area).transform("sum")
        area_share = _ratio(area_group, area_total)
        absent = has_area & ~(area_group > 0).to_numpy()
        if absent.any():
            log.info(
                "%s: %d areas (%d tracts) by %s have no members; location quotients undefined",
                group,
                area[absent].nunique(),
                int(absent.sum()),
                by,
            )
        tract_share = _ratio(counts[group], total)
        defined = has_people & ~absent & has_area
        quotients[f"lq_{group}"] = np.divide(
            tract_share, area_share, out=np.full(len(tracts), np.nan), where=defined
        )
    return pd.DataFrame(quotients, index=tracts.index)


# --------------------------------------------------------------------------------------------
# Local entropy
# --------------------------------------------------------------------------------------------


def local_entropy(tracts: pd.DataFrame, groups: Sequence[str]) -> pd.Series:
    """Each tract's diversity, the entropy E_i = −Σ_g π_gi ln π_gi (natural log).

    π_gi = g_i / Σ_h h_i is group g's share of the tract; the groups must partition
    ``total`` (e.g. the eight B03002 groups ``white_nh``, ``black_nh``, ``aian_nh``,
    ``asian_nh``, ``nhpi_nh``, ``other_nh``, ``two_or_more_nh``, ``hispanic``), so this
    equals g_i / t_i. A tract whose groups sum more than ``PARTITION_TOLERANCE`` from its
    total raises ``ValueError``. Absent groups add nothing (0 · ln 0 = 0), so a one-group
    tract has E = 0 and K equal groups give ln K, the maximum. NaN where ``total`` is 0.
    Reardon & O'Sullivan (2004), eq. 6; see ``local_entropy_normalised`` for E_i / ln K.

    Returns a Series named ``local_entropy``, indexed like ``tracts``.
    """
    return pd.Series(
        _entropy(tracts, groups, "local_entropy"), index=tracts.index, name="local_entropy"
    )


def local_entropy_normalised(tracts: pd.DataFrame, groups: Sequence[str]) -> pd.Series:
    """``local_entropy`` divided by its maximum ln K (K = number of groups), in [0, 1].

    1 means all K groups are equally present. This is PySAL's ``MultiLocalEntropy``. A
    separate function rather than a flag, so that each returns one named quantity; it
    needs K ≥ 2 (ln 1 = 0). Returns a Series named ``local_entropy_normalised``.
    """
    caller = "local_entropy_normalised"
    groups = _groups(groups, caller)
    if len(groups) < 2:
        raise ValueError(f"{caller}: groups needs at least two groups to normalise, got {groups}")
    entropy = _entropy(tracts, groups, caller) / np.log(len(groups))
    return pd.Series(entropy, index=tracts.index, name="local_entropy_normalised")


def _entropy(tracts: pd.DataFrame, groups: Sequence[str], caller: str) -> np.ndarray:
    groups = _groups(groups, caller)
    _require_columns(tracts, ["total", *groups], caller)
    counts = _counts(tracts, ["total", *groups], caller)
    members = counts[groups].to_numpy()
    total = counts["total"].to_numpy()
    group_sum = members.sum(axis=1)
    off = np.abs(group_sum - total) > PARTITION_TOLERANCE
    if off.any():
        position = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{caller}: groups {groups} sum to {group_sum[position]:g}, not total "
            f"{total[position]:g}, in tract {_tract_label(tracts, position)} "
            f"(they must partition total); {int(off.sum())} tracts differ"
        )
    populated = (total > 0) & (group_sum > 0)
    shares = np.divide(
        members, group_sum[:, None], out=np.zeros_like(members), where=populated[:, None]
    )
    logs = np.log(shares, out=np.zeros_like(shares), where=shares > 0)  # 0 · ln 0 = 0
    entropy = 0.0 - (shares * logs).sum(axis=1)  # 0.0 -: no −0.0 for one-group tracts
    entropy[~populated] = np.nan
    if not populated.all():
        log.info("%d tracts with no population: local entropy undefined", int((~populated).sum()))
    return entropy


#: Groups whose counts, shares and location quotients the R/ECAP table carries; with
#: ``other_race_nh`` they partition the population (for local entropy).
RECAP_GROUPS = ("white_nh", "black_nh", "hispanic", "asian_nh", "other_race_nh")

#: Identifier columns of the R/ECAP table: the tract table's, with the CBSA instead of the
#: boundary file's GEOID.
RECAP_ID_COLUMNS = [c for c in ID_COLUMNS if c != "boundary_geoid"] + ["cbsa_geoid", "cbsa_name"]


#: Columns of the R/ECAP table on the CBSA mean's tracts in other states, per tract (the
#: same for every tract of a CBSA; 0 and empty outside CBSAs).
CBSA_ELSEWHERE_COLUMNS = {
    "rated_tracts": "cbsa_rated_tracts_elsewhere",
    "rate_sum": "cbsa_rate_sum_elsewhere",
    "coverage": "cbsa_coverage",
}


def recap_table(
    tracts: gpd.GeoDataFrame,
    thresholds: Mapping[str, float],
    elsewhere: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The tract R/ECAP table: IDs, group counts and shares, poverty rate, the R/ECAP flag
    with its thresholds, local indices (location quotients against the tract's county or
    county equivalent, and local entropy over ``RECAP_GROUPS``), and what the CBSA mean
    took from other states (``elsewhere``, :func:`cbsa_rates_elsewhere`;
    :data:`CBSA_ELSEWHERE_COLUMNS`): ``cbsa_coverage`` is ``complete`` for a tract of a
    CBSA whose every state was at hand, ``partial`` if not, empty outside CBSAs."""
    frame = tracts.copy()
    frame["other_race_nh"] = frame[["aian_nh", "nhpi_nh", "other_nh", "two_or_more_nh"]].sum(axis=1)
    flagged = flag_recaps(frame, **thresholds, elsewhere=elsewhere)
    found = {} if elsewhere is None else elsewhere.to_dict("index")
    cbsa = _area_keys(frame, "cbsa_geoid").astype(object).where(lambda codes: codes.notna(), None)
    rows = [found.get(code, {"rated_tracts": 0, "rate_sum": 0.0, "coverage": COMPLETE})
            if code is not None else {"rated_tracts": 0, "rate_sum": 0.0, "coverage": ""}
            for code in cbsa]  # fmt: skip
    from_elsewhere = (
        pd.DataFrame(rows, columns=ELSEWHERE_COLUMNS, index=frame.index)
        .astype({"rated_tracts": np.int64, "rate_sum": float, "coverage": str})
        .rename(columns=CBSA_ELSEWHERE_COLUMNS)
    )
    groups = list(RECAP_GROUPS)
    populated_total = frame["total"].where(frame["total"] > 0)
    shares = {f"share_{group}": frame[group] / populated_total for group in groups}
    table = pd.concat(
        [
            frame[[*RECAP_ID_COLUMNS, "total", *groups, "poverty_universe", "below_poverty"]],
            pd.DataFrame(shares, index=frame.index),
            flagged[RECAP_COLUMNS],
            location_quotients(frame, groups, by="county_geoid"),
            local_entropy(frame, groups),
            local_entropy_normalised(frame, groups),
            from_elsewhere,
        ],
        axis=1,
    )
    return gpd.GeoDataFrame(table, geometry=tracts.geometry, crs=tracts.crs)


def elsewhere_of(recaps: pd.DataFrame) -> pd.DataFrame:
    """:func:`cbsa_rates_elsewhere`'s ``rated_tracts`` and ``rate_sum`` per CBSA, read back
    from an R/ECAP table (:func:`recap_table`), for the scenarios' thresholds."""
    caller = "elsewhere_of"
    _require_columns(recaps, ["cbsa_geoid", *CBSA_ELSEWHERE_COLUMNS.values()], caller)
    cbsa = _area_keys(recaps, "cbsa_geoid")
    columns = {CBSA_ELSEWHERE_COLUMNS[name]: name for name in ("rated_tracts", "rate_sum")}
    table = recaps.loc[cbsa.notna(), list(columns)].rename(columns=columns)
    table.index = pd.Index(cbsa[cbsa.notna()], name="cbsa_geoid")
    table = table[~table.index.duplicated()]
    return table.sort_index()
