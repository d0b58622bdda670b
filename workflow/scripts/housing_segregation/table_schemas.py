"""Data dictionaries of the version's tables: one Table Schema per table, and its validation.

Each table under ``results/<version>/tables/`` gets a machine-readable data dictionary next
to it, ``<table>.schema.json``, in the form of a Frictionless Table Schema (v2: field
``name``, ``type``, ``description``, ``unit`` where one applies, ``constraints``;
``primaryKey`` where the table has one). This module is the one place the columns are
described; the column lists themselves come from the stage modules that write the tables.

:func:`write_schema` checks the table against its schema before writing the schema: the
columns present and in order, every value of its type, no empty cell in a required column,
no repeated key. A failure raises :class:`TableSchemaError` naming the table, the column and
the (1-based data) row.

The stage modules are imported when the specs are first built, not when this module is
imported, so that the workflow's parse step (which names the schema files) stays cheap.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

#: The Table Schema profile the schema files follow.
PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"

#: How the stages write a missing value in a CSV (pandas' default: an empty cell).
MISSING_VALUES = [""]

#: How pandas writes booleans.
TRUE_VALUES = ["True"]
FALSE_VALUES = ["False"]

#: Table file suffixes that have a schema (the siting model's .txt summary is prose).
TABULAR_SUFFIXES = (".csv", ".parquet")

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|(?i:nan|[+-]?inf)")
_GEOID = r"^[0-9]+$"


class TableSchemaError(ValueError):
    """A table does not match its schema."""


def schema_path(table: str | Path) -> str:
    """The schema file of a table file: ``tables/indices.csv`` -> ``tables/indices.schema.json``."""
    path = Path(table)
    if path.suffix not in TABULAR_SUFFIXES:
        raise ValueError(f"{path.name}: only {', '.join(TABULAR_SUFFIXES)} tables have a schema")
    return str(path.with_name(f"{path.stem}.schema.json"))


def has_schema(table: str | Path) -> bool:
    return Path(table).suffix in TABULAR_SUFFIXES


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


def _field(
    type_: str,
    description: str,
    unit: str | None = None,
    *,
    required: bool = False,
    enum: Sequence[object] | None = None,
    pattern: str | None = None,
    missing_values: Sequence[str] | None = None,
) -> dict[str, object]:
    """A Table Schema field descriptor, without its name."""
    spec: dict[str, object] = {"type": type_, "description": description}
    if unit is not None:
        spec["unit"] = unit
    if type_ == "boolean":
        spec["trueValues"] = TRUE_VALUES
        spec["falseValues"] = FALSE_VALUES
    if missing_values is not None:
        spec["missingValues"] = list(missing_values)
    constraints: dict[str, object] = {}
    if required:
        constraints["required"] = True
    if enum is not None:
        constraints["enum"] = list(enum)
    if pattern is not None:
        constraints["pattern"] = pattern
    if constraints:
        spec["constraints"] = constraints
    return spec


def _geoid(description: str, digits: int | None = None, *, required: bool = True) -> dict:
    pattern = f"^[0-9]{{{digits}}}$" if digits else _GEOID
    return _field("string", description, required=required, pattern=pattern)


#: Fields that mean the same in every table that has them.
COMMON_FIELDS: dict[str, dict[str, object]] = {
    "year": _field(
        "integer",
        "ACS 5-year end year of the tracts (2023 = the 2019–2023 estimates)",
        "year",
        required=True,
    ),
    "geography_id": _geoid(
        "Census GEOID of the area, as text with its leading zeros: 2 "
        "digits for a state, 5 for a county, planning region or CBSA, "
        "10 for a town"
    ),
    "geography_name": _field(
        "string", "Census name of the area, e.g. `Capitol Planning Region`", required=True
    ),
    "geoid": _geoid("tract GEOID (11 digits) of the ACS year", 11),
    "town_geoid": _geoid("county subdivision (town) GEOID, coded as in the tract table", 10),
    "town_name": _field("string", "town (county subdivision) name", required=True),
    "scenario": _field("string", "the scenario's name in config/scenarios.yaml", required=True),
    "metric": _field(
        "string",
        "the outcome: an index of indices.csv as "
        "`index:group:reference_group` (e.g. `dissimilarity:black_nh:white_nh`; "
        "`isolation:black_nh`; multigroup indices by name), or `recap_tracts`, "
        "`recap_tracts_baseline_thresholds`, `recap_population`, `assisted_units`, "
        "`assisted_units_share_in_recap`, `assisted_units_share_in_baseline_recaps`, "
        "`low_poverty_exposure:<group>`, `towns_at_or_above_10_percent`, "
        "`tracts_displacement_risk`, and per town `assisted_percent` (docs/outputs.md)",
        required=True,
    ),
    "baseline": _field(
        "number", "the outcome today (for indices: indices.csv's value)", "as the metric"
    ),
    "delta": _field("number", "`value` − `baseline`", "as the metric"),
    "delta_ci_low": _field(
        "number",
        "lower end of the Monte Carlo interval of Δ "
        "(`uncertainty.level`, 90% by default; paired draws)",
        "as the metric",
    ),
    "delta_ci_high": _field(
        "number", "upper end of the Monte Carlo interval of Δ", "as the metric"
    ),
    "program": _field(
        "string",
        "the program: `assisted_units_total`, `assisted_units_<group>` "
        "of the inventory's program groups, `all_housing` (every occupied home, "
        "the comparison), `cgs_8_30g` (the town lists), or HUD's counts "
        "`hud_psh_<group>_units`, `hud_psh_<group>_households`, "
        "`hud_hcv_households`, `hud_lihtc_units`",
        required=True,
    ),
}


def _level(levels: Iterable[str], what: str = "geography level of the row") -> dict:
    return _field("string", what, required=True, enum=list(levels))


def _today_and_scenario(
    name: str, what: str, unit: str, scenario_note: str = "", today_note: str = ""
) -> dict[str, dict[str, object]]:
    """A count today (``<name>_baseline``) and under the scenario (``<name>``)."""
    return {
        f"{name}_baseline": _field("number", f"{what} today{today_note}", unit, required=True),
        name: _field("number", f"{what} under the scenario{scenario_note}", unit, required=True),
    }


def _fixed_level(level: str) -> dict:
    return _field(
        "string", f"geography level of the row: always `{level}`", required=True, enum=[level]
    )


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """A table's columns (in order), key and descriptions. ``fields`` adds to or overrides
    :data:`COMMON_FIELDS`; ``optional`` columns may be absent (e.g. planning regions outside
    Connecticut): the schema then leaves them out."""

    title: str
    description: str
    columns: Sequence[str]
    fields: Mapping[str, Mapping[str, object]]
    primary_key: Sequence[str] = ()
    optional: frozenset[str] = field(default_factory=frozenset)

    def field(self, name: str) -> dict[str, object]:
        if name in self.fields:
            return dict(self.fields[name])
        if name in COMMON_FIELDS:
            return dict(COMMON_FIELDS[name])
        raise KeyError(name)


#: Columns of siting_model.csv, in order (siting_model.fit_siting_models, then the state).
SITING_MODEL_COLUMNS = [
    "program",
    "family",
    "term",
    "term_type",
    "unit",
    "estimate",
    "std_error",
    "z_value",
    "p_value",
    "ci_low",
    "ci_high",
    "irr",
    "irr_ci_low",
    "irr_ci_high",
    "n",
    "cov_type",
    "year",
    "geography_level",
    "geography_id",
]

#: Columns of siting_model_fit.csv, in order.
SITING_FIT_COLUMNS = [
    "program",
    "family",
    "outcome",
    "n",
    "n_dropped",
    "n_levels_dropped",
    "fixed_effect_column",
    "fixed_effect_reference",
    "cov_type",
    "cluster_column",
    "n_clusters",
    "n_parameters",
    "iterations",
    "log_likelihood",
    "log_likelihood_null",
    "aic",
    "bic",
    "pseudo_r2",
    "alpha",
    "alpha_std_error",
    "alpha_lr_statistic",
    "alpha_lr_p_value",
    "pearson_chi2",
    "pearson_dispersion",
    "overdispersion_alpha",
    "overdispersion_p_value",
    "observed_total",
    "fitted_total",
    "fitted_to_observed",
    "year",
    "geography_level",
    "geography_id",
]


def _subsidized_by_tract_columns() -> list[str]:
    from . import assisted
    from .subsidized import BY_TRACT_ID_COLUMNS

    return [
        *BY_TRACT_ID_COLUMNS,
        "geometry",
        "assisted_projects",
        "assisted_units_total",
        "assisted_units_at_shared_points",
        *(f"assisted_units_{group}" for group in assisted.GROUPS),
    ]


@cache
def table_specs() -> dict[str, TableSpec]:
    """Table file name -> its :class:`TableSpec`, for every table a run can write."""
    from . import allocation, assisted, scenario_run, siting, siting_model, subsidized
    from .harmonise import TIMESERIES_COLUMNS
    from .measure import INDEX_COLUMNS, LEVELS

    levels = list(LEVELS)
    scenario_fields = {
        "geography_level": _level(levels),
        "value": _field(
            "number",
            "the outcome under the scenario (point run: published counts, expected moves)",
            "as the metric",
        ),
        "year": _field(
            "integer",
            "ACS 5-year end year of the tracts the scenario ran on",
            "year",
            required=True,
        ),
    }
    siting_fields = {
        "year": _field(
            "integer",
            "ACS end year of the tracts; for the `cgs_8_30g` rows the town list's year",
            "year",
            required=True,
        ),
        "geography_level": _level(levels),
        "metric": _field(
            "string",
            "`units`; `share_in_recap`, `share_in_poverty_20`, "
            "`share_in_poverty_40`, `share_in_majority_nonwhite`, "
            "`share_unclassified`; `host_nonwhite_share`, `host_poverty_rate`; "
            "`dissimilarity_tracts`, `gini_tracts`, `dissimilarity_towns`, "
            "`gini_towns`; `tracts_suppressed`; for `cgs_8_30g`: `towns`, "
            "`towns_below_10_percent`, `units_to_10_percent` (docs/outputs.md)",
            required=True,
        ),
        "value": _field(
            "number",
            "the metric: shares and rates as fractions (0.15 = 15%), units as counts",
            "fraction or count (see metric)",
        ),
        "denominator": _field(
            "integer",
            "for shares and host means: the program's units in the area; empty otherwise",
            "units",
        ),
    }
    model_fields = {
        "program": _field(
            "string", "the modelled program (outcome column of the tract table)", required=True
        ),
        "family": _field(
            "string",
            "`negative_binomial` or `poisson`",
            required=True,
            enum=["negative_binomial", "poisson"],
        ),
        "cov_type": _field(
            "string", "standard errors: `cluster` (cluster-robust) or `HC1`", required=True
        ),
        "n": _field("integer", "tracts in the fit", "tracts", required=True),
        "year": _field(
            "integer", "ACS end year of the tracts the model is fitted to", "year", required=True
        ),
        "geography_level": _fixed_level("state"),
        "geography_id": _geoid("state FIPS code of the model's tracts", 2),
    }
    index_fields = {
        "geography_level": _level(levels),
        "unit_level": _field(
            "string",
            "the units the index is computed over: `tract` or `block_group`",
            required=True,
        ),
        "index": _field(
            "string",
            "index name, lowercase snake_case, e.g. "
            "`dissimilarity`, `isolation`, `spatial_dissimilarity_1km` "
            "(docs/methods.md)",
            required=True,
        ),
        "group": _field(
            "string",
            "focal group, e.g. `black_nh`, `below_poverty`, or `multigroup`",
            required=True,
        ),
        "reference_group": _field(
            "string",
            "the group compared with, e.g. "
            "`white_nh`; empty where none applies (isolation, "
            "the correlation ratio, multigroup indices)",
            missing_values=[],
        ),
        "value": _field(
            "number",
            "the index from the published counts (most lie in "
            "0–1; see docs/outputs.md for the exceptions); empty where it is undefined "
            "on them (e.g. concentration in a 2-tract area with a large majority)",
            "index",
        ),
        "n_units": _field("integer", "units (tracts) used", "tracts", required=True),
        "population": _field(
            "integer",
            "total population of those units (poverty universe for poverty comparisons)",
            "persons",
            required=True,
        ),
        "se": _field(
            "number",
            "standard deviation of the index over the Monte Carlo "
            "draws (empty for the simulation-based D rows)",
            "index",
        ),
        "ci_low": _field(
            "number",
            "lower end of the Monte Carlo interval (`uncertainty.level`, 90% by default)",
            "index",
        ),
        "ci_high": _field("number", "upper end of the Monte Carlo interval", "index"),
        "coverage": _field(
            "string",
            "`complete`: measured from every tract of the area; `partial`: a CBSA crossing "
            "state lines measured without the tracts of a state it spans (docs/methods.md)",
            required=True,
            enum=["complete", "partial"],
        ),
    }
    index_key = [
        "year",
        "geography_level",
        "geography_id",
        "unit_level",
        "index",
        "group",
        "reference_group",
    ]
    return {
        "indices.csv": TableSpec(
            title="Segregation indices",
            description="One row per index value, by year, area, index and group.",
            columns=INDEX_COLUMNS,
            primary_key=index_key,
            fields=index_fields,
        ),
        "indices_timeseries.csv": TableSpec(
            title="Segregation indices over time",
            description="indices.csv's rows for every year, on each year's own tracts and, "
            "for years on older tracts, on the latest year's tracts (harmonised).",
            columns=[*INDEX_COLUMNS, *TIMESERIES_COLUMNS],
            primary_key=[index_key[0], "harmonised", *index_key[1:]],
            fields={
                **index_fields,
                "tract_geography": _field(
                    "integer",
                    "the census whose tracts the value rests on: 2010 or 2020",
                    "year",
                    required=True,
                    enum=[2010, 2020],
                ),
                "harmonised": _field(
                    "boolean",
                    "whether the year's counts were carried onto the latest year's tracts",
                    required=True,
                ),
            },
        ),
        "scenarios.csv": TableSpec(
            title="Policy scenarios: outcomes and their change",
            description="One row per scenario, outcome and area (the contract's columns, "
            "then the year).",
            columns=scenario_run.SCENARIO_COLUMNS,
            primary_key=["year", "scenario", "metric", "geography_level", "geography_id"],
            fields=scenario_fields,
        ),
        "scenario_tests.csv": TableSpec(
            title="Policy scenarios: tests of Δ = 0",
            description="Whether each Δ of scenarios.csv differs from zero.",
            columns=scenario_run.TEST_COLUMNS,
            primary_key=["year", "scenario", "metric", "geography_level", "geography_id"],
            fields={
                **scenario_fields,
                "delta_p_value": _field(
                    "number",
                    "two-sided Monte Carlo p-value of Δ = 0 from the paired draws",
                    "probability",
                ),
                "delta_p_value_adjusted": _field(
                    "number",
                    "the p-value adjusted for the false "
                    "discovery rate (Benjamini–Hochberg over the "
                    "scenario's outcomes)",
                    "probability",
                ),
                "differs_from_zero": _field(
                    "boolean",
                    "adjusted p-value under 1 − "
                    "`uncertainty.level` (0.10); empty where Δ has no "
                    "draws",
                ),
            },
        ),
        "scenario_sensitivity.csv": TableSpec(
            title="Policy scenarios: sensitivity sweeps",
            description="A scenario's outcomes above towns for each value of one parameter.",
            columns=scenario_run.SWEEP_COLUMNS,
            primary_key=[
                "year",
                "sweep",
                "parameter_value",
                "scenario",
                "metric",
                "geography_level",
                "geography_id",
            ],
            fields={
                **scenario_fields,
                "sweep": _field(
                    "string", "the sweep's name in config/scenarios.yaml", required=True
                ),
                "parameter": _field("string", "the step parameter the sweep varies", required=True),
                "parameter_value": _field(
                    "number", "the parameter's value in this run", "as the parameter", required=True
                ),
            },
        ),
        "fair_share_allocation.csv": TableSpec(
            title="Policy scenarios: units allocated by town",
            description="One row per town for every allocation step of every scenario.",
            columns=allocation.ALLOCATION_COLUMNS,
            primary_key=["scenario", "step_number", "town_geoid"],
            fields={
                **scenario_fields,
                "geography_level": _fixed_level("town"),
                "region_geoid": _geoid(
                    "GEOID of the town's region (planning region, else "
                    "county), the unit of the regional targets"
                ),
                "households": _field(
                    "integer", "occupied homes (ACS)", "households", required=True
                ),
                "housing_units": _field(
                    "integer",
                    "housing units of the latest 8-30g list (ACS occupied homes without a list)",
                    "housing units",
                    required=True,
                ),
                "assisted_units": _field(
                    "number",
                    "assisted units before the step: the list's, plus earlier steps' units",
                    "assisted units",
                    required=True,
                ),
                "assisted_percent": _field(
                    "number", "100 × assisted_units / housing_units", "percent"
                ),
                "eligible": _field("boolean", "whether the town can receive units", required=True),
                "exclusion": _field(
                    "string",
                    "why the town is left out: `at_threshold`, "
                    "`recap`, `poverty`; empty if eligible",
                    enum=["at_threshold", "recap", "poverty"],
                ),
                "score": _field(
                    "number",
                    "fair-share score s_m (sums to 1 over a region's "
                    "eligible towns); empty for the gap rule",
                ),
                "cap": _field(
                    "number",
                    "most units the town may receive (`inf`: no cap)",
                    "assisted units",
                    required=True,
                ),
                "units": _field(
                    "integer", "new units allocated (whole)", "assisted units", required=True
                ),
                "assisted_percent_after": _field(
                    "number", "100 × (assisted_units + units) / housing_units", "percent"
                ),
                "step": _field(
                    "string",
                    "the scenario step that allocated the units",
                    required=True,
                    enum=list(allocation.ALLOCATION_STEPS),
                ),
                "step_number": _field(
                    "integer", "the step's 1-based position in the scenario's steps", required=True
                ),
            },
        ),
        "scenario_tracts.csv": TableSpec(
            title="Policy scenarios: tracts before and after",
            description="One row per scenario and tract (point run).",
            columns=scenario_run.TRACT_COLUMNS,
            primary_key=["scenario", "geoid"],
            fields={
                **scenario_fields,
                "geography_level": _fixed_level("tract"),
                **_today_and_scenario(
                    "assisted_units", "project-based assisted units", "assisted units"
                ),
                **_today_and_scenario(
                    "voucher_households", "voucher households", "households", " (expected moves)"
                ),
                **_today_and_scenario(
                    "persons", "residents", "persons", " (expected moves)", " (B03002 total)"
                ),
                "recap_baseline": _field(
                    "boolean", "R/ECAP today (HUD's rule recomputed)", required=True
                ),
                "recap": _field("boolean", "R/ECAP under the scenario", required=True),
                "recap_share_of_draws": _field(
                    "number",
                    "share of Monte Carlo draws in which the tract is an R/ECAP under the scenario",
                    "fraction",
                    required=True,
                ),
                "displacement_risk": _field(
                    "boolean", "whether a step flags the tract for displacement risk", required=True
                ),
            },
        ),
        "siting_metrics.csv": TableSpec(
            title="Siting of subsidized housing",
            description="One row per year, program, area and metric.",
            columns=siting.SITING_COLUMNS,
            primary_key=["year", "program", "geography_level", "geography_id", "metric"],
            fields=siting_fields,
        ),
        "siting_sensitivity.csv": TableSpec(
            title="Siting metrics without the projects at shared points",
            description="The inventory programs' siting metrics with and without the projects "
            "at points shared by five or more projects.",
            columns=subsidized.SENSITIVITY_COLUMNS,
            primary_key=["year", "program", "geography_level", "geography_id", "metric"],
            fields={
                **siting_fields,
                "value": _field(
                    "number",
                    "the metric as listed (equal to siting_metrics.csv)",
                    "fraction or count (see metric)",
                ),
                "value_without_shared_points": _field(
                    "number",
                    "the metric with the "
                    "shared-point projects left out; empty "
                    "where no units are left",
                    "fraction or count (see metric)",
                ),
                "difference": _field(
                    "number",
                    "`value_without_shared_points` − `value`",
                    "fraction or count (see metric)",
                ),
            },
        ),
        "siting_model.csv": TableSpec(
            title="Siting model: coefficients",
            description="One row per state, program and term of the siting model.",
            columns=SITING_MODEL_COLUMNS,
            primary_key=["year", "geography_id", "program", "term"],
            fields={
                **model_fields,
                "term": _field(
                    "string",
                    "`intercept`, `minority_share_10pp`, "
                    "`poverty_rate_10pp`, `renter_share_10pp`, `median_income_10k`, "
                    "`log_density`, or a region fixed effect",
                    required=True,
                ),
                "term_type": _field(
                    "string",
                    "`intercept`, `race`, `predictor`, `control` or `fixed_effect`",
                    required=True,
                ),
                "unit": _field(
                    "string",
                    "what one unit of the term is, e.g. `per 10 points of nonwhite / total`",
                    required=True,
                ),
                "estimate": _field("number", "coefficient on the log scale", "log rate ratio"),
                "std_error": _field("number", "standard error of the estimate", "log rate ratio"),
                "z_value": _field("number", "estimate / standard error"),
                "p_value": _field("number", "two-sided p-value", "probability"),
                "ci_low": _field("number", "lower end of the 95% interval", "log rate ratio"),
                "ci_high": _field("number", "upper end of the 95% interval", "log rate ratio"),
                "irr": _field("number", "incidence-rate ratio exp(estimate)", "rate ratio"),
                "irr_ci_low": _field("number", "lower end of the IRR's 95% interval", "rate ratio"),
                "irr_ci_high": _field(
                    "number", "upper end of the IRR's 95% interval", "rate ratio"
                ),
            },
        ),
        "siting_model_fit.csv": TableSpec(
            title="Siting model: fit",
            description="One row per state and program: sample, fit statistics, dispersion "
            "and totals.",
            columns=SITING_FIT_COLUMNS,
            primary_key=["year", "geography_id", "program"],
            fields={
                **model_fields,
                "outcome": _field("string", "outcome column (units per tract)", required=True),
                "n_dropped": _field(
                    "integer",
                    "tracts left out (no homes, or a missing predictor)",
                    "tracts",
                    required=True,
                ),
                "n_levels_dropped": _field(
                    "integer", "fixed-effect levels left out", required=True
                ),
                "fixed_effect_column": _field(
                    "string", "the fixed effects' column; empty for none"
                ),
                "fixed_effect_reference": _geoid(
                    "the fixed effects' reference level", required=False
                ),
                "cluster_column": _field(
                    "string", "the clusters' column (cluster-robust errors); empty otherwise"
                ),
                "n_clusters": _field("integer", "clusters", required=False),
                "n_parameters": _field("integer", "parameters estimated", required=True),
                "iterations": _field("integer", "iterations of the fit"),
                "log_likelihood": _field("number", "log-likelihood of the model"),
                "log_likelihood_null": _field(
                    "number", "log-likelihood of the intercept-only model"
                ),
                "aic": _field("number", "Akaike information criterion"),
                "bic": _field("number", "Bayesian information criterion"),
                "pseudo_r2": _field("number", "McFadden pseudo-R²"),
                "alpha": _field("number", "NB2 dispersion α (negative binomial)"),
                "alpha_std_error": _field("number", "standard error of α"),
                "alpha_lr_statistic": _field("number", "likelihood-ratio statistic of α = 0"),
                "alpha_lr_p_value": _field("number", "p-value of that test", "probability"),
                "pearson_chi2": _field("number", "Pearson χ²"),
                "pearson_dispersion": _field("number", "Pearson χ² / degrees of freedom"),
                "overdispersion_alpha": _field("number", "Cameron–Trivedi α (Poisson only)"),
                "overdispersion_p_value": _field(
                    "number", "p-value of the Cameron–Trivedi test (Poisson only)", "probability"
                ),
                "observed_total": _field(
                    "number", "observed units over the fitted tracts", "assisted units"
                ),
                "fitted_total": _field(
                    "number", "fitted units over the fitted tracts", "assisted units"
                ),
                "fitted_to_observed": _field(
                    "number",
                    "`fitted_total` / `observed_total` "
                    "(far from 1: read the rate ratios, not the "
                    "totals)",
                    "ratio",
                ),
            },
        ),
        "siting_counterfactual.csv": TableSpec(
            title="Siting model: race-neutral counterfactual by tract",
            description="One row per program and tract of the fit.",
            columns=[*siting_model.COUNTERFACTUAL_COLUMNS, "year", "geography_level"],
            primary_key=["year", "program", "geoid"],
            fields={
                **model_fields,
                "geography_level": _fixed_level("tract"),
                "region": _geoid(
                    "GEOID of the tract's counterfactual region (e.g. planning region)"
                ),
                "observed_units": _field(
                    "number", "units in the tract", "assisted units", required=True
                ),
                "fitted_units": _field("number", "units the model predicts", "assisted units"),
                "counterfactual_units": _field(
                    "number",
                    "units predicted with the minority "
                    "share set to the region's household-weighted "
                    "mean",
                    "assisted units",
                ),
                "minority_share_10pp": _field(
                    "number", "the tract's minority share", "10 percentage points"
                ),
                "regional_minority_share_10pp": _field(
                    "number",
                    "the region's household-weighted minority share",
                    "10 percentage points",
                ),
            },
        ),
        "town_assisted_share.csv": TableSpec(
            title="Assisted housing by town (state town lists, CGS 8-30g)",
            description="One row per town and list year of the state's town lists.",
            columns=subsidized.TOWN_SHARE_COLUMNS,
            primary_key=["year", "town_geoid"],
            fields={
                "year": _field("integer", "the town list's year", "year", required=True),
                "geography_level": _fixed_level("town"),
                "housing_units": _field(
                    "integer",
                    "census housing units the list divides by",
                    "housing units",
                    required=True,
                ),
                **{
                    name: _field(
                        "integer",
                        f"assisted units: {what}, as published; empty "
                        "where the list leaves the cell blank",
                        "assisted units",
                    )
                    for name, what in (
                        ("government_assisted", "government assisted"),
                        ("tenant_rental_assistance", "tenant rental assistance (from 2011)"),
                        ("chfa_usda_mortgages", "CHFA and USDA mortgages"),
                        ("deed_restricted", "deed restricted"),
                    )
                },
                "total_assisted": _field(
                    "integer", "total assisted units, as published", "assisted units", required=True
                ),
                "percent_published": _field("number", "percent assisted as published", "percent"),
                "percent_recomputed": _field(
                    "number", "100 × total_assisted / housing_units", "percent"
                ),
                "published_check": _field(
                    "string",
                    "`percent`, `total` (or both, joined by "
                    "`;`) where the published row fails that check; "
                    "empty if both hold",
                ),
                "below_threshold": _field(
                    "boolean", "whether the town is under 10%", required=True
                ),
                "units_to_threshold": _field(
                    "integer",
                    "assisted units the town needs to reach 10% (0 at or above)",
                    "assisted units",
                    required=True,
                ),
                "exempt": _field("boolean", "the list's own exempt marking, where it has one"),
                "source_file": _field("string", "the workbook the row comes from", required=True),
                "source_row": _field(
                    "integer", "the row's 1-based row in the workbook", required=True
                ),
            },
        ),
        "hud_by_tract.csv": TableSpec(
            title="HUD figures by tract",
            description="One row per tract, source, program and measure that HUD reports.",
            columns=subsidized.HUD_COLUMNS,
            primary_key=["year", "geoid", "source", "program", "measure"],
            fields={
                "geography_level": _fixed_level("tract"),
                "source": _field(
                    "string",
                    "`hud_psh` (Picture of Subsidized Households), "
                    "`hud_hcv` (vouchers by tract), `hud_lihtc` (LIHTC database)",
                    required=True,
                    enum=["hud_psh", "hud_hcv", "hud_lihtc"],
                ),
                "program": _field(
                    "string", "HUD's program as listed (docs/outputs.md)", required=True
                ),
                "measure": _field(
                    "string",
                    "what HUD reports, e.g. `subsidized_units`, "
                    "`households_reported`, `pct_minority`, `vouchers`, `units`",
                    required=True,
                ),
                "value": _field(
                    "number",
                    "the figure (counts, percents or dollars as the "
                    "measure says); empty where HUD suppressed it",
                    "as the measure",
                ),
                "suppressed": _field(
                    "boolean", "whether the value is missing in HUD's file", required=True
                ),
            },
        ),
        "subsidized_by_tract.parquet": TableSpec(
            title="Assisted units by tract (GeoParquet)",
            description="One row per tract with its polygon: the tract, its areas, occupied "
            "homes and the inventory's assisted units by program group.",
            columns=_subsidized_by_tract_columns(),
            primary_key=["geoid"],
            optional=frozenset({"planning_region_geoid", "planning_region_name"}),
            fields={
                "geography_level": _fixed_level("tract"),
                "name": _field("string", "ACS tract name", required=True),
                "state_fips": _geoid("state FIPS code", 2),
                "state_name": _field("string", "state name", required=True),
                "county_geoid": _geoid("county or county equivalent of the ACS year", 5),
                "county_name": _field("string", "county name", required=True),
                "town_geoid": _geoid("town holding most of the tract's area", 10, required=False),
                "town_name": _field("string", "town name"),
                "planning_region_geoid": _geoid(
                    "planning region through the tract's town", 5, required=False
                ),
                "planning_region_name": _field("string", "planning region name"),
                "cbsa_geoid": _geoid(
                    "CBSA through the tract's county; empty outside any", 5, required=False
                ),
                "cbsa_name": _field("string", "CBSA name"),
                "households": _field(
                    "integer", "occupied housing units (ACS B25003_001)", "households"
                ),
                "geometry": _field(
                    "any",
                    "tract polygon (WKB; CRS in the file's GeoParquet metadata)",
                    required=True,
                ),
                "assisted_projects": _field(
                    "integer", "projects of the inventory in the tract", "projects", required=True
                ),
                "assisted_units_total": _field(
                    "integer",
                    "assisted units, each project's once",
                    "assisted units",
                    required=True,
                ),
                "assisted_units_at_shared_points": _field(
                    "integer",
                    "the part of assisted_units_total at points shared by 5 or more projects",
                    "assisted units",
                    required=True,
                ),
                **{
                    f"assisted_units_{group}": _field(
                        "integer",
                        f"units of the projects in the `{group}` program group "
                        f"({subsidized.PROGRAMS[f'assisted_units_{group}']})",
                        "assisted units",
                        required=True,
                    )
                    for group in assisted.GROUPS
                },
            },
        ),
    }


def table_schema(name: str, columns: Sequence[str] | None = None) -> dict[str, object]:
    """The Table Schema of table file ``name`` (e.g. ``indices.csv``). ``columns``: the
    columns the file has, to leave out optional columns it lacks."""
    specs = table_specs()
    if name not in specs:
        raise ValueError(f"no schema for table {name}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    present = set(columns) if columns is not None else set(spec.columns)
    fields = []
    for column in spec.columns:
        if column in spec.optional and column not in present:
            continue
        descriptor = spec.field(column)
        if column in spec.primary_key:
            constraints = dict(descriptor.get("constraints", {}))
            constraints["required"] = True
            descriptor["constraints"] = constraints
        fields.append({"name": column, **descriptor})
    schema: dict[str, object] = {
        "$schema": PROFILE,
        "name": Path(name).stem,
        "title": spec.title,
        "description": spec.description,
        "path": name,
        "fields": fields,
        "fieldsMatch": "exact",
        "missingValues": MISSING_VALUES,
    }
    if spec.primary_key:
        schema["primaryKey"] = list(spec.primary_key)
    return schema


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _fail(table: str, column: str, row: int | None, problem: str) -> TableSchemaError:
    where = f"column {column!r}" + (f", row {row}" if row is not None else "")
    return TableSchemaError(f"{table}: {where}: {problem}")


def _check_columns(table: str, columns: Sequence[str], schema: Mapping[str, object]) -> None:
    expected = [f["name"] for f in schema["fields"]]
    if list(columns) == expected:
        return
    for position, name in enumerate(expected):
        if name not in columns:
            raise _fail(table, name, None, f"missing (expected at position {position + 1})")
    for name in columns:
        if name not in expected:
            raise _fail(table, name, None, "not in the schema")
    actual = [c for c in columns if c in expected]
    first = next(i for i, (a, b) in enumerate(zip(actual, expected, strict=True)) if a != b)
    raise _fail(
        table,
        actual[first],
        None,
        f"out of order: expected {expected[first]!r} at position {first + 1}",
    )


def _first(mask: pd.Series | np.ndarray) -> int:
    """The 0-based position of the first True."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def _type_ok(values: pd.Series, descriptor: Mapping[str, object]) -> pd.Series:
    """Whether each (non-missing, text) value parses as the field's type."""
    kind = descriptor["type"]
    if kind == "integer":
        return values.str.fullmatch(_INTEGER.pattern)
    if kind == "number":
        return values.str.fullmatch(_NUMBER.pattern)
    if kind == "boolean":
        return values.isin([*descriptor["trueValues"], *descriptor["falseValues"]])
    return pd.Series(True, index=values.index)


def validate_frame(table: str, frame: pd.DataFrame, schema: Mapping[str, object]) -> None:
    """Check a table read as text (every cell a string, missing cells as they are written)
    against ``schema``. Rows in messages are 1-based data rows (the header is not counted).
    """
    _check_columns(table, list(frame.columns), schema)
    frame = frame.reset_index(drop=True)
    present = {}
    for descriptor in schema["fields"]:
        name = descriptor["name"]
        values = frame[name].astype("string")
        missing_values = descriptor.get("missingValues", schema["missingValues"])
        is_missing = values.isna() | values.isin(list(missing_values))
        present[name] = ~is_missing
        constraints = descriptor.get("constraints", {})
        if constraints.get("required") and is_missing.any():
            raise _fail(table, name, _first(is_missing) + 1, "empty in a required column")
        shown = values[~is_missing]
        bad = ~_type_ok(shown, descriptor).fillna(False).astype(bool)
        if bad.any():
            row = int(bad.index[_first(bad)])
            raise _fail(table, name, row + 1, f"{shown[row]!r} is not of type {descriptor['type']}")
        if "enum" in constraints:
            bad = ~shown.isin([str(v) for v in constraints["enum"]])
            if bad.any():
                row = int(bad.index[_first(bad)])
                raise _fail(
                    table, name, row + 1, f"{shown[row]!r} is not one of {constraints['enum']}"
                )
        if "pattern" in constraints:
            bad = ~shown.str.fullmatch(constraints["pattern"].strip("^$")).fillna(False)
            if bad.any():
                row = int(bad.index[_first(bad)])
                raise _fail(
                    table, name, row + 1, f"{shown[row]!r} does not match {constraints['pattern']}"
                )
    key = list(schema.get("primaryKey", []))
    if key:
        repeated = frame.duplicated(subset=key, keep=False)
        if repeated.any():
            duplicate = frame.duplicated(subset=key, keep="first")
            row = _first(duplicate)
            same = frame[key].iloc[row]
            original = _first((frame[key] == same).all(axis=1))
            raise _fail(
                table, ", ".join(key), row + 1, f"key {tuple(same)} repeats row {original + 1}"
            )


def read_text_table(path: str | Path) -> pd.DataFrame:
    """A CSV table as text, exactly as written (no cell read as missing or converted)."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    if len(set(header)) != len(header):
        repeated = next(c for c in header if header.count(c) > 1)
        raise _fail(Path(path).name, repeated, None, "appears twice in the header")
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def _parquet_as_text(path: str | Path) -> pd.DataFrame:
    """A Parquet table with every value as the text a CSV writer would give (missing as
    missing, geometry as a placeholder), so one validator serves both formats."""
    frame = pd.read_parquet(path)
    text = {}
    for name in frame.columns:
        values = frame[name]
        if name == "geometry":
            text[name] = values.map(lambda v: None if v is None else "<geometry>")
        elif pd.api.types.is_bool_dtype(values):
            text[name] = values.map(lambda v: None if pd.isna(v) else str(bool(v)))
        elif pd.api.types.is_float_dtype(values):
            text[name] = values.map(
                lambda v: (
                    None
                    if pd.isna(v)
                    else (f"{v:.0f}" if float(v).is_integer() else repr(float(v)))
                )
            )
        else:
            text[name] = values.map(lambda v: None if pd.isna(v) else str(v))
    return pd.DataFrame(text, columns=frame.columns)


def read_table(path: str | Path) -> pd.DataFrame:
    """A table file (CSV or Parquet) as text, for :func:`validate_frame`."""
    if Path(path).suffix == ".parquet":
        return _parquet_as_text(path)
    return read_text_table(path)


def write_schema(table: str | Path, output: str | Path) -> dict[str, object]:
    """Check ``table`` against its schema and write the schema to ``output`` (JSON, UTF-8,
    sorted as declared, LF). Raises :class:`TableSchemaError` if the table does not match."""
    name = Path(table).name
    frame = read_table(table)
    schema = table_schema(name, list(frame.columns))
    validate_frame(name, frame, schema)
    Path(output).write_text(
        json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return schema


def write_schemas(tables: Sequence[str], outputs: Sequence[str]) -> None:
    """The schema of each table, to the schema files of :func:`schema_path` (``outputs``
    must be exactly those, in order)."""
    expected = [schema_path(t) for t in tables]
    if [str(Path(o)) for o in outputs] != [str(Path(e)) for e in expected]:
        raise ValueError(
            f"table schemas: outputs {list(outputs)} are not the schema files of {list(tables)}"
        )
    for table, output in zip(tables, outputs, strict=True):
        write_schema(table, output)
