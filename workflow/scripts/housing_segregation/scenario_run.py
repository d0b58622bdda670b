"""Running a scenario on a state's tables: its context, its outcomes and the tidy tables.

:mod:`scenarios` holds the steps; this module builds their :class:`scenarios.Context` from
the pipeline's tables, measures baseline and scenario alike (the index suite of
:mod:`measure`, R/ECAPs, assisted units in R/ECAPs, exposure to low-poverty tracts, towns'
8-30g percent) and reports Δ = scenario − baseline with Monte Carlo intervals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import allocation, measure, recap, scenarios
from .measure import LEVELS, area_ids
from .siting import APPEALS_THRESHOLD
from .uncertainty import interval, point_counts, simulate_tract_counts

log = logging.getLogger(__name__)

#: Columns of scenarios.csv, in order: the contract's, then the ACS year of the tracts the
#: scenario ran on (docs/outputs.md).
SCENARIO_COLUMNS = [
    "scenario",
    "metric",
    "geography_level",
    "geography_id",
    "baseline",
    "value",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "year",
]

#: Columns of scenario_tracts.csv, in order (docs/outputs.md).
TRACT_COLUMNS = [
    "scenario",
    "year",
    "geography_level",
    "geoid",
    "assisted_units_baseline",
    "assisted_units",
    "voucher_households_baseline",
    "voucher_households",
    "persons_baseline",
    "persons",
    "recap_baseline",
    "recap",
    "recap_share_of_draws",
    "displacement_risk",
]

#: A tract is low-poverty below this rate (the destination rule of Baltimore's mobility
#: program, and the usual "low-poverty" line of the Moving to Opportunity evaluations).
LOW_POVERTY_RATE = 0.10

#: Levels of the non-index outcomes (towns get their 8-30g percent only).
AREA_LEVELS = ("state", "county", "planning_region", "cbsa")


# --------------------------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------------------------


def scenario_context(
    tracts: pd.DataFrame,
    recaps: pd.DataFrame,
    by_tract: pd.DataFrame,
    *,
    region_column: str,
    town_shares: pd.DataFrame | None = None,
    counterfactual: pd.DataFrame | None = None,
    hud_table: pd.DataFrame | None = None,
) -> scenarios.Context:
    """The steps' context for one state-year.

    - Regions: ``region_column`` of the tract table (e.g. ``planning_region_geoid``).
    - Assisted units per tract: the inventory's ``assisted_units_total``.
    - Towns (for allocation): households, median income (household-weighted mean of tract
      medians) and poverty rate from the tracts; housing units and assisted units from the
      state's town list of its latest year when there is one, else the ACS occupied homes
      and the inventory's units.
    - Voucher households per tract: HUD's vouchers by tract when the run has them (withheld
      tracts count 0), else each town's tenant rental assistance from its list, spread over
      its tracts by renter households; with neither, none (voucher steps then move nobody).
    - Siting-model weights: the race-neutral counterfactual of all assisted units, when given.
    """
    frame = tracts.reset_index(drop=True).merge(
        recaps[["geoid", "poverty_rate", "nonwhite_share", "recap"]], on="geoid", how="left",
        validate="1:1",
    )  # fmt: skip
    frame = frame.merge(
        by_tract[["geoid", "assisted_units_total"]], on="geoid", how="left", validate="1:1"
    )
    if region_column not in frame or frame[region_column].isna().all():
        # Planning regions exist only where configured (Connecticut): counties elsewhere.
        log.warning("scenarios: the tract table has no %s; counties are the regions",
                    region_column)  # fmt: skip
        region_column = "county_geoid"
    frame["region_geoid"] = frame[region_column].astype("string")
    frame["assisted_units"] = frame["assisted_units_total"].fillna(0).astype(float)
    towns = _towns(frame, town_shares)
    frame["voucher_households"] = _vouchers(frame, towns, town_shares, hud_table)
    if counterfactual is not None:
        total = counterfactual[counterfactual["program"] == "assisted_units_total"]
        weights = total.set_index("geoid")["counterfactual_units"]
        frame["siting_model_weight"] = frame["geoid"].map(weights)
    else:
        frame["siting_model_weight"] = np.nan
    return scenarios.Context(frame, towns)


def _towns(frame: pd.DataFrame, town_shares: pd.DataFrame | None) -> pd.DataFrame:
    located = frame[frame["town_geoid"].notna()]
    grouped = located.groupby("town_geoid")
    income = located["median_household_income"] * located["households"]
    known = located["median_household_income"].notna()
    towns = pd.DataFrame(
        {
            "town_name": grouped["town_name"].first(),
            # A town's region is that of most of its homes (towns nest in regions in practice).
            "region_geoid": located.groupby(["town_geoid", "region_geoid"])["households"]
            .sum()
            .reset_index()
            .sort_values(["town_geoid", "households"], ascending=[True, False])
            .drop_duplicates("town_geoid")
            .set_index("town_geoid")["region_geoid"],
            "households": grouped["households"].sum(),
            "median_household_income": income[known].groupby(located["town_geoid"][known]).sum()
            / located["households"][known].groupby(located["town_geoid"][known]).sum(),
            "poverty_rate": grouped["below_poverty"].sum() / grouped["poverty_universe"].sum(),
            "has_recap": grouped["recap"].agg(lambda flags: bool(flags.fillna(False).any())),
            "inventory_units": grouped["assisted_units"].sum(),
        }
    ).reset_index()
    if town_shares is not None and not town_shares.empty:
        latest = town_shares[town_shares["year"] == town_shares["year"].max()]
        listed = latest.set_index("town_geoid")
        towns["housing_units"] = towns["town_geoid"].map(listed["housing_units"])
        towns["assisted_units"] = towns["town_geoid"].map(listed["total_assisted"])
        unlisted = towns["housing_units"].isna() | towns["assisted_units"].isna()
        if unlisted.any():
            raise ValueError(
                f"scenarios: town {towns.loc[unlisted, 'town_geoid'].iloc[0]} has no housing "
                f"or assisted units in the {int(latest['year'].iloc[0])} town list"
            )
    else:
        towns["housing_units"] = towns["households"]
        towns["assisted_units"] = towns["inventory_units"]
    return towns[[*allocation.TOWN_COLUMNS]]


def _vouchers(
    frame: pd.DataFrame,
    towns: pd.DataFrame,
    town_shares: pd.DataFrame | None,
    hud_table: pd.DataFrame | None,
) -> pd.Series:
    if hud_table is not None and (hud_table["source"] == "hud_hcv").any():
        rows = hud_table[(hud_table["source"] == "hud_hcv") & (hud_table["measure"] == "vouchers")]
        withheld = int(rows["value"].isna().sum())
        if withheld:
            log.info("vouchers: %d tract(s) withheld by HUD (10 or fewer) count as 0", withheld)
        return frame["geoid"].map(rows.set_index("geoid")["value"]).fillna(0.0)
    if town_shares is not None and "tenant_rental_assistance" in town_shares:
        latest = town_shares[town_shares["year"] == town_shares["year"].max()]
        per_town = latest.set_index("town_geoid")["tenant_rental_assistance"].fillna(0.0)
        renters = frame["renters"].astype(float).fillna(0.0)
        town_renters = renters.groupby(frame["town_geoid"]).transform("sum")
        share = (renters / town_renters.where(town_renters > 0)).fillna(0.0)
        log.info("vouchers: each town's tenant rental assistance (%d list) spread over its "
                 "tracts by renter households", int(latest["year"].iloc[0]))  # fmt: skip
        return frame["town_geoid"].map(per_town).fillna(0.0) * share
    log.warning("vouchers: no voucher counts (no HUD vouchers, no town list); voucher steps "
                "move nobody")  # fmt: skip
    return pd.Series(0.0, index=frame.index)


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------


@dataclass
class RecapRule:
    """HUD's R/ECAP rule for a run's tracts: its settings, CBSA codes, and the baseline's
    thresholds and flags (from the published counts), to hold fixed in comparisons."""

    settings: Mapping[str, float]
    cbsa_codes: np.ndarray
    baseline_thresholds: tuple[np.ndarray, np.ndarray]
    baseline_flags: np.ndarray

    elsewhere: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(
        cls,
        tracts: pd.DataFrame,
        published: Mapping[str, np.ndarray],
        settings,
        elsewhere: pd.DataFrame | None = None,
    ):
        """``elsewhere``: the CBSA means' tracts in other states (:func:`recap.elsewhere_of`),
        held fixed in every draw."""
        cbsa = tracts["cbsa_geoid"].astype("string").str.strip()
        codes, found = pd.factorize(cbsa.mask(cbsa == ""))
        by_code = None
        if elsewhere is not None:
            known = elsewhere.reindex(found)
            by_code = (
                known["rated_tracts"].fillna(0).to_numpy(float),
                known["rate_sum"].fillna(0.0).to_numpy(float),
            )
        counts = scenarios.with_composites(published)
        thresholds = recap.recap_thresholds(
            counts["poverty_universe"], counts["below_poverty"], codes, **settings,
            elsewhere=by_code,
        )  # fmt: skip
        flags = recap.recap_flags(
            counts["total"], counts["nonwhite"], counts["poverty_universe"],
            counts["below_poverty"], thresholds,
        )  # fmt: skip
        return cls(settings, codes, thresholds, flags, by_code)

    def flags(self, counts: Mapping[str, np.ndarray], *, fixed: bool = False) -> np.ndarray:
        """R/ECAP flags of counts (with composites): HUD's rule recomputed on them, or with
        the baseline's thresholds (``fixed``)."""
        thresholds = (
            self.baseline_thresholds
            if fixed
            else recap.recap_thresholds(
                counts["poverty_universe"], counts["below_poverty"], self.cbsa_codes,
                **self.settings, elsewhere=self.elsewhere,
            )
        )  # fmt: skip
        return recap.recap_flags(
            counts["total"], counts["nonwhite"], counts["poverty_universe"],
            counts["below_poverty"], thresholds,
        )  # fmt: skip


@dataclass
class Measured:
    """A state's outcomes: key (metric, geography_level, geography_id) -> (point value,
    draws (k,) or None)."""

    values: dict[tuple[str, str, str], tuple[float, np.ndarray | None]]


def _metric_name(row: Mapping[str, object]) -> str:
    parts = [str(row["index"])]
    if row["group"] != measure.MULTIGROUP:
        parts.append(str(row["group"]))
    if row["reference_group"]:
        parts.append(str(row["reference_group"]))
    return ":".join(parts)


def measure_state(
    point: scenarios.State,
    drawn: scenarios.State | None,
    context: scenarios.Context,
    tracts: pd.DataFrame,
    *,
    groups: Sequence[str],
    reference_group: str,
    minimum_units: Mapping[str, int],
    recaps: RecapRule,
    geometry: Mapping[str, object] | None = None,
) -> Measured:
    """Every outcome of a state (point run and draws)."""
    values: dict[tuple[str, str, str], tuple[float, np.ndarray | None]] = {}
    point_counts_ = {n: v[0] for n, v in scenarios.with_composites(point.counts).items()}
    drawn_counts = scenarios.with_composites(drawn.counts) if drawn is not None else None
    for row, draws in measure.index_rows(
        tracts, point_counts_, drawn_counts, groups=groups, reference_group=reference_group,
        minimum_units=minimum_units, **(geometry or {}),
    ):  # fmt: skip
        key = (_metric_name(row), str(row["geography_level"]), str(row["geography_id"]))
        values[key] = (float(row["value"]), draws)
    for state, slot in ((point, 0), (drawn, 1)):
        if state is None:
            continue
        for key, series in _area_outcomes(state, context, tracts, groups, recaps).items():
            if slot == 0:
                values[key] = (float(series[0]), None)
            elif key in values:
                values[key] = (values[key][0], series)
    return Measured(values)


def _area_outcomes(
    state: scenarios.State,
    context: scenarios.Context,
    tracts: pd.DataFrame,
    groups: Sequence[str],
    recaps: RecapRule,
) -> dict[tuple[str, str, str], np.ndarray]:
    """R/ECAPs (by HUD's rule on the state's counts, and with the baseline's thresholds),
    people in them, assisted units in them and in the baseline's R/ECAPs, exposure to low
    poverty, towns at 10%, per area (arrays over the state's k rows)."""
    counts = scenarios.with_composites(state.counts)
    flags = recaps.flags(counts)
    fixed = recaps.flags(counts, fixed=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = counts["below_poverty"] / np.where(
            counts["poverty_universe"] > 0, counts["poverty_universe"], np.nan
        )
    low_poverty = rate < LOW_POVERTY_RATE
    assisted = np.broadcast_to(state.assisted, flags.shape)
    tract_values = {
        "recap_tracts": flags.astype(float),
        "recap_tracts_baseline_thresholds": fixed.astype(float),
        "recap_population": np.where(flags, counts["total"], 0.0),
        "assisted_units_in_recap": np.where(flags, assisted, 0.0),
        "assisted_units_in_baseline_recaps": np.where(recaps.baseline_flags, assisted, 0.0),
        "assisted_units": assisted,
    }
    for group in groups:
        tract_values[f"low_poverty:{group}"] = np.where(low_poverty, counts[group], 0.0)
        tract_values[f"all:{group}"] = counts[group]
    results: dict[tuple[str, str, str], np.ndarray] = {}
    for level, geography_id, positions in _outcome_areas(tracts):
        sums = {name: v[:, positions].sum(axis=-1) for name, v in tract_values.items()}
        for name in (
            "recap_tracts", "recap_tracts_baseline_thresholds", "recap_population",
            "assisted_units",
        ):  # fmt: skip
            results[(name, level, geography_id)] = sums[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            results[("assisted_units_share_in_recap", level, geography_id)] = (
                sums["assisted_units_in_recap"] / sums["assisted_units"]
            )
            results[("assisted_units_share_in_baseline_recaps", level, geography_id)] = (
                sums["assisted_units_in_baseline_recaps"] / sums["assisted_units"]
            )
            for group in groups:
                results[(f"low_poverty_exposure:{group}", level, geography_id)] = (
                    sums[f"low_poverty:{group}"] / sums[f"all:{group}"]
                )
        # No step but income mixing flags tracts: elsewhere the count is 0.
        risk = state.flags.get("displacement_risk", np.zeros(len(tracts), dtype=bool))
        results[("tracts_displacement_risk", level, geography_id)] = np.full(
            state.draws, float(risk[positions].sum())
        )
    results.update(_town_outcomes(state, context, tracts))
    return results


def _town_outcomes(
    state: scenarios.State, context: scenarios.Context, tracts: pd.DataFrame
) -> dict[tuple[str, str, str], np.ndarray]:
    """Each town's 8-30g percent (list units plus units and voucher households the scenario
    adds or moves) and, per area, the towns at or above 10%."""
    town_of = context.tracts["town_geoid"].to_numpy()
    located = pd.notna(town_of)
    change = (state.assisted - context.tracts["assisted_units"].to_numpy())[None, :] + (
        state.vouchers - context.tracts["voucher_households"].to_numpy()[None, :]
    )
    towns = context.towns.set_index("town_geoid")
    codes, names = pd.factorize(pd.Series(town_of[located]))
    added = np.zeros((state.draws, len(names)))
    np.add.at(added, (slice(None), codes), change[:, located])
    assisted = towns.loc[names, "assisted_units"].to_numpy() + added
    units = towns.loc[names, "housing_units"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = 100 * assisted / np.where(units > 0, units, np.nan)
    results = {("assisted_percent", "town", town): percent[:, i] for i, town in enumerate(names)}
    at_threshold = percent >= 100 * APPEALS_THRESHOLD - 1e-9
    town_level = pd.Series(np.arange(len(names)), index=names)
    for level, geography_id, positions in _outcome_areas(tracts):
        area_towns = pd.unique(town_of[positions])
        in_area = town_level[[town for town in area_towns if pd.notna(town)]]
        results[("towns_at_or_above_10_percent", level, geography_id)] = (
            at_threshold[:, in_area.to_numpy()].sum(axis=-1).astype(float)
        )
    return results


def _outcome_areas(tracts: pd.DataFrame) -> Iterator[tuple[str, str, np.ndarray]]:
    """(level, area ID, positions of its tracts) for every area of :data:`AREA_LEVELS` in
    the tract table (areas measured as in indices.csv: :func:`measure.area_ids`)."""
    for level in AREA_LEVELS:
        id_column = LEVELS[level][0]
        if id_column not in tracts or tracts[id_column].isna().all():
            continue
        ids = area_ids(tracts, level, id_column)
        for geography_id, members in ids.groupby(ids).groups.items():
            if geography_id != "":
                yield level, str(geography_id), tracts.index.get_indexer(members)


def compare(
    name: str, baseline: Measured, scenario: Measured, level: float, *, year: int
) -> pd.DataFrame:
    """scenarios.csv rows: each outcome in both, Δ and its interval from the paired draws
    (re-centred on the point Δ as in :func:`uncertainty.interval`), and Δ's Monte Carlo
    p-value (:func:`delta_p_value`) in ``delta_p_value``; ``year`` is the tracts' ACS year."""
    rows = []
    for key, (value, draws) in scenario.values.items():
        if key not in baseline.values:
            continue
        base, base_draws = baseline.values[key]
        delta = value - base
        low = high = p_value = np.nan
        if draws is not None and base_draws is not None and np.isfinite(delta):
            _, low, high = interval(draws - base_draws, level, delta, floor=None)
            p_value = delta_p_value(delta, draws - base_draws)
        rows.append(
            {"scenario": name, "metric": key[0], "geography_level": key[1],
             "geography_id": key[2], "baseline": base, "value": value, "delta": delta,
             "delta_ci_low": low, "delta_ci_high": high, "year": year,
             "delta_p_value": p_value}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=[*SCENARIO_COLUMNS, "delta_p_value"])


def delta_p_value(delta: float, paired: np.ndarray) -> float:
    """Two-sided Monte Carlo p-value of "Δ = 0", consistent with the interval: the paired
    draws' deviations re-centred on Δ (as the interval is), the share at or beyond 0 on the
    side away from Δ, doubled, with the (k + 1) correction of Davison and Hinkley (1997) so
    it is never 0. The interval always holds Δ, so a Δ of 0 gives 1. NaN draws are left out.
    """
    draws = np.asarray(paired, dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if draws.size < 2 or not np.isfinite(delta):
        return np.nan
    if delta == 0:
        return 1.0
    centred = delta + (draws - draws.mean())
    beyond = int((centred <= 0).sum()) if delta > 0 else int((centred >= 0).sum())
    return min(1.0, 2 * (beyond + 1) / (draws.size + 1))


#: Columns of scenario_tests.csv, in order (docs/outputs.md).
TEST_COLUMNS = [
    "scenario",
    "metric",
    "geography_level",
    "geography_id",
    "delta",
    "delta_p_value",
    "delta_p_value_adjusted",
    "differs_from_zero",
    "year",
]


def delta_tests(compared: pd.DataFrame, level: float) -> pd.DataFrame:
    """Whether each Δ differs from zero: its p-value, adjusted over the scenario's outcomes
    for the false discovery rate (Benjamini and Hochberg 1995, statsmodels' ``fdr_bh``),
    and the verdict at 1 − ``level`` (0.10 for 90% intervals)."""
    from statsmodels.stats.multitest import multipletests

    table = compared.copy()
    table["delta_p_value_adjusted"] = np.nan
    table["differs_from_zero"] = pd.array([pd.NA] * len(table), dtype="boolean")
    known = table["delta_p_value"].notna().to_numpy()
    if known.any():
        rejected, adjusted, _, _ = multipletests(
            table.loc[known, "delta_p_value"], alpha=1 - level, method="fdr_bh"
        )
        table.loc[known, "delta_p_value_adjusted"] = adjusted
        table.loc[known, "differs_from_zero"] = rejected
    return table[TEST_COLUMNS]


# --------------------------------------------------------------------------------------------
# One scenario, end to end
# --------------------------------------------------------------------------------------------


def save_measured(measured: Measured, path: str | Path) -> None:
    """A state's outcomes as .npz: keys, point values and draws (NaN rows where none)."""
    keys = list(measured.values)
    point = np.array([measured.values[k][0] for k in keys], dtype=np.float64)
    widths = {v[1].shape[0] for v in measured.values.values() if v[1] is not None}
    if len(widths) > 1:
        raise ValueError(f"measured outcomes: draws of different lengths {sorted(widths)}")
    width = widths.pop() if widths else 0
    draws = np.full((len(keys), width), np.nan)
    has_draws = np.zeros(len(keys), dtype=bool)
    for row, key in enumerate(keys):
        if measured.values[key][1] is not None:
            draws[row] = measured.values[key][1]
            has_draws[row] = True
    with open(path, "wb") as handle:
        np.savez(handle, keys=np.array(["\t".join(k) for k in keys]), point=point, draws=draws,
                 has_draws=has_draws)  # fmt: skip


def load_measured(path: str | Path) -> Measured:
    with np.load(path) as stored:
        keys = [tuple(str(k).split("\t")) for k in stored["keys"]]
        point, draws, has_draws = stored["point"], stored["draws"], stored["has_draws"]
        return Measured(
            {
                key: (float(point[row]), draws[row].copy() if has_draws[row] else None)
                for row, key in enumerate(keys)
            }
        )


@dataclass
class ScenarioResult:
    table: pd.DataFrame
    tests: pd.DataFrame
    allocation: pd.DataFrame
    tracts: pd.DataFrame


@dataclass
class PreparedRun:
    """A state-year ready for scenarios: the context, the tracts, the baseline as published
    (point) and as drawn (the measurement stage's stream, ``seed``), the R/ECAP rule and
    what is measured."""

    context: scenarios.Context
    tracts: pd.DataFrame
    base_point: scenarios.State
    base_drawn: scenarios.State
    recaps: RecapRule
    seed: list[int]
    interval_level: float
    measured: dict[str, object]

    def baseline(self) -> Measured:
        """The baseline's outcomes (the same for every scenario of the state-year)."""
        return self._measure(self.base_point, self.base_drawn)

    def _measure(self, point: scenarios.State, drawn: scenarios.State) -> Measured:
        return measure_state(point, drawn, self.context, self.tracts, recaps=self.recaps,
                             **self.measured)  # fmt: skip

    def scenario(
        self, name: str, steps: Sequence[Mapping[str, object]], baseline: Measured
    ) -> ScenarioResult:
        """Apply ``steps`` to the baseline's point and draws (common random numbers: every
        scenario's step k draws from the same stream), measure, and compare."""
        after_point = scenarios.apply_scenario(self.base_point, self.context, steps, seed=None)
        after_drawn = scenarios.apply_scenario(self.base_drawn, self.context, steps, seed=self.seed)
        year = int(self.tracts["year"].iloc[0])
        compared = compare(name, baseline, self._measure(after_point, after_drawn),
                           self.interval_level, year=year)  # fmt: skip
        return ScenarioResult(
            table=compared[SCENARIO_COLUMNS],
            tests=delta_tests(compared, self.interval_level),
            allocation=_allocation_table(name, year, after_point, steps),
            tracts=_tract_table(
                name, year, self.tracts, self.base_point, after_point, after_drawn, self.recaps
            ),
        )


def prepare_run(
    context: scenarios.Context,
    tracts: pd.DataFrame,
    *,
    draws: int,
    seed: Sequence[int],
    interval_level: float,
    groups: Sequence[str],
    reference_group: str,
    minimum_units: Mapping[str, int],
    recap_settings: Mapping[str, float],
    geometry: Mapping[str, object] | None = None,
    recap_elsewhere: pd.DataFrame | None = None,
) -> PreparedRun:
    """Baseline states of a state-year: published counts, and ``draws`` replicates drawn as
    the measurement stage draws them (seeded with ``seed``). ``recap_elsewhere``: the R/ECAP
    CBSA means' tracts in other states (:func:`recap.elsewhere_of`)."""
    if draws < 2:
        raise ValueError(f"scenarios: draws must be at least 2, got {draws}")
    tracts = tracts.reset_index(drop=True)
    published = point_counts(tracts, list(scenarios.PARTS))
    simulated = simulate_tract_counts(tracts, draws=draws, seed=list(seed))
    return PreparedRun(
        context=context,
        tracts=tracts,
        base_point=scenarios.initial_state(published, context),
        base_drawn=scenarios.initial_state({p: simulated[p] for p in scenarios.PARTS}, context),
        recaps=RecapRule.of(tracts, published, recap_settings, recap_elsewhere),
        seed=list(seed),
        interval_level=float(interval_level),
        measured={
            "groups": list(groups),
            "reference_group": reference_group,
            "minimum_units": minimum_units,
            "geometry": geometry,
        },
    )


def _allocation_table(
    name: str, year: int, state: scenarios.State, steps: Sequence[Mapping[str, object]]
) -> pd.DataFrame:
    """The town tables of the scenario's allocation steps, each marked with its step and
    the step's 1-based position in the scenario (the steps append them in order)."""
    if not state.allocations:
        return pd.DataFrame(columns=allocation.ALLOCATION_COLUMNS)
    allocating = [
        (position, str(step["step"]))
        for position, step in enumerate(steps, start=1)
        if step["step"] in allocation.ALLOCATION_STEPS
    ]
    table = pd.concat(
        [
            part.assign(step=kind, step_number=position)
            for part, (position, kind) in zip(state.allocations, allocating, strict=True)
        ],
        ignore_index=True,
    )
    share = table["assisted_units"] / table["housing_units"].where(table["housing_units"] > 0)
    after = (table["assisted_units"] + table["units"]) / table["housing_units"].where(
        table["housing_units"] > 0
    )
    table = table.assign(
        scenario=name, year=year, geography_level="town", assisted_percent=100 * share,
        assisted_percent_after=100 * after,
    )  # fmt: skip
    return table[allocation.ALLOCATION_COLUMNS]


def _tract_table(
    name: str,
    year: int,
    tracts: pd.DataFrame,
    before: scenarios.State,
    after: scenarios.State,
    drawn: scenarios.State,
    recaps: RecapRule,
) -> pd.DataFrame:
    def flags(state: scenarios.State) -> np.ndarray:
        return recaps.flags(scenarios.with_composites(state.counts))

    persons = {s: scenarios.with_composites(st.counts)["total"][0] for s, st in
               (("before", before), ("after", after))}  # fmt: skip
    risk = after.flags.get("displacement_risk", np.zeros(len(tracts), dtype=bool))
    return pd.DataFrame(
        {
            "scenario": name,
            "year": year,
            "geography_level": "tract",
            "geoid": tracts["geoid"].to_numpy(),
            "assisted_units_baseline": before.assisted,
            "assisted_units": after.assisted,
            "voucher_households_baseline": before.vouchers[0],
            "voucher_households": after.vouchers[0],
            "persons_baseline": persons["before"],
            "persons": persons["after"],
            "recap_baseline": flags(before)[0],
            "recap": flags(after)[0],
            "recap_share_of_draws": flags(drawn).mean(axis=0),
            "displacement_risk": risk,
        },
        columns=TRACT_COLUMNS,
    )


# --------------------------------------------------------------------------------------------
# From the pipeline's tables
# --------------------------------------------------------------------------------------------


@dataclass
class StageInputs:
    """A state-year's tables the scenarios read (docs/outputs.md)."""

    tracts: pd.DataFrame
    recaps: pd.DataFrame
    by_tract: pd.DataFrame
    counterfactual: pd.DataFrame | None = None
    town_shares: pd.DataFrame | None = None
    hud_table: pd.DataFrame | None = None


def prepare_configured(
    inputs: StageInputs, settings: Mapping[str, object], *, draws: int
) -> PreparedRun:
    """A state-year's tables ready for scenarios, with the run's settings: ``region``,
    ``spatial_indices``, ``seed`` (the measurement stage's [seed, year, state]),
    ``interval_level``, ``groups``, ``reference_group``, ``minimum_units``, ``recap`` and
    ``radii``."""
    context = scenario_context(
        inputs.tracts, inputs.recaps, inputs.by_tract, region_column=str(settings["region"]),
        town_shares=inputs.town_shares, counterfactual=inputs.counterfactual,
        hud_table=inputs.hud_table,
    )  # fmt: skip
    geometry = None
    if settings["spatial_indices"]:
        centroids = inputs.tracts.geometry.centroid
        geometry = {
            "centroids": np.column_stack([centroids.x, centroids.y]),
            "unit_areas": inputs.tracts.geometry.area.to_numpy(),
            "radii": settings["radii"],
        }
    return prepare_run(
        context, inputs.tracts, draws=draws, seed=list(settings["seed"]),
        interval_level=float(settings["interval_level"]), groups=list(settings["groups"]),
        reference_group=str(settings["reference_group"]),
        minimum_units=settings["minimum_units"], recap_settings=settings["recap"],
        geometry=geometry, recap_elsewhere=recap.elsewhere_of(inputs.recaps),
    )  # fmt: skip


#: Columns of scenario_sensitivity.csv, in order (docs/outputs.md).
SWEEP_COLUMNS = ["sweep", "parameter", "parameter_value", *SCENARIO_COLUMNS]


def run_sweep(
    sweep: Mapping[str, object],
    steps: Sequence[Mapping[str, object]],
    run: PreparedRun,
) -> pd.DataFrame:
    """The sweep's scenario once per value of its parameter, against one baseline; the rows
    above towns."""
    position = int(sweep["step"]) - 1
    baseline = run.baseline()
    parts = []
    for value in sweep["values"]:
        varied = [dict(step) for step in steps]
        varied[position][str(sweep["parameter"])] = value
        table = run.scenario(str(sweep["scenario"]), varied, baseline).table
        parts.append(
            table[table["geography_level"] != "town"].assign(
                sweep=sweep["name"], parameter=sweep["parameter"], parameter_value=value
            )
        )
    return pd.concat(parts, ignore_index=True)[SWEEP_COLUMNS]


#: Output table file name -> the part it is stacked from (see :func:`subsidized.collect_tables`).
TABLE_PARTS = {
    "scenarios.csv": "scenarios",
    "scenario_tests.csv": "tests",
    "fair_share_allocation.csv": "allocation",
    "scenario_tracts.csv": "tracts",
    "scenario_sensitivity.csv": "sweeps",
}


def read_stage_inputs(files: Mapping[str, str]) -> StageInputs:
    """The tables of :class:`StageInputs` from their files (``town_shares`` and ``hud``
    optional), IDs read as text."""
    import geopandas as gpd

    def table(name: str) -> pd.DataFrame | None:
        if name not in files:
            return None
        return pd.read_csv(files[name], dtype={"geoid": str, "town_geoid": str, "region": str})

    return StageInputs(
        tracts=gpd.read_parquet(files["tracts"]),
        recaps=gpd.read_parquet(files["recaps"]),
        by_tract=gpd.read_parquet(files["by_tract"]),
        counterfactual=table("counterfactual"),
        town_shares=table("town_shares"),
        hud_table=table("hud"),
    )


def write_table(table: pd.DataFrame, path: str) -> None:
    """A scenario table as CSV, as every stage writes them (10 significant digits, LF)."""
    table.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
