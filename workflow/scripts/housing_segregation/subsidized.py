"""The subsidized-housing stage: each step the pipeline runs, from its inputs to its tables.

The pieces live in their own modules (:mod:`appeals` for the 8-30g lists, :mod:`assisted` for
project inventories, :mod:`siting` for the metrics, :mod:`siting_model` for the model); this
module strings them together for one state, so that the Snakemake scripts stay one call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import appeals, assisted, hud, siting, siting_model

log = logging.getLogger(__name__)

#: Columns of town_assisted_share.csv, in order (docs/outputs.md).
TOWN_SHARE_COLUMNS = [
    "year",
    "geography_level",
    "town_geoid",
    "town_name",
    "housing_units",
    "government_assisted",
    "tenant_rental_assistance",
    "chfa_usda_mortgages",
    "deed_restricted",
    "total_assisted",
    "percent_published",
    "percent_recomputed",
    "published_check",
    "below_threshold",
    "units_to_threshold",
    "exempt",
    "source_file",
    "source_row",
]

#: Program groups of the project inventory (units per tract columns, without the prefix).
PROGRAMS = {
    "assisted_units_total": "all assisted units",
    "assisted_units_public_housing": "public housing",
    "assisted_units_section_8_project_based": "project-based Section 8",
    "assisted_units_project_based_voucher": "project-based vouchers",
    "assisted_units_lihtc": "LIHTC",
    "assisted_units_other_multifamily": "other HUD multifamily",
    "assisted_units_state_and_local": "state, HOME and deed-restricted",
    "assisted_units_usda": "USDA rural rental",
}
if set(PROGRAMS) != {"assisted_units_total", *(f"assisted_units_{g}" for g in assisted.GROUPS)}:
    raise ImportError("subsidized.PROGRAMS must name every program group of assisted.GROUPS")

#: Programs the siting model is fitted to: the total and the large federal and state groups.
MODELLED_PROGRAMS = (
    "assisted_units_total",
    "assisted_units_public_housing",
    "assisted_units_section_8_project_based",
    "assisted_units_lihtc",
    "assisted_units_state_and_local",
)


#: Siting-model terms shown in the rate-ratio figure, with what one step of each means.
PLOTTED_TERMS = {
    "minority_share_10pp": "10 points more non-white residents",
    "poverty_rate_10pp": "10 points more poverty",
}


def towns_for_map(
    town_shares: pd.DataFrame, boundaries: gpd.GeoDataFrame, *, list_year: int
) -> gpd.GeoDataFrame:
    """One list year's towns with their polygons from a county-subdivision boundary file.

    Towns match on state and county-subdivision code (the last five digits of the GEOID),
    which stay the same when the county part changes (Connecticut's 2022 planning regions).
    Raises if a listed town has no polygon."""
    year = town_shares[town_shares["year"] == int(list_year)].copy()
    if year.empty:
        raise ValueError(f"town table: no rows for list year {list_year}")
    year["town_key"] = year["town_geoid"].str[:2] + year["town_geoid"].str[-5:]
    shapes = boundaries.assign(town_key=boundaries["STATEFP"] + boundaries["COUSUBFP"])
    merged = shapes[["town_key", "geometry"]].merge(year, on="town_key", how="right")
    if merged["geometry"].isna().any():
        missing = merged.loc[merged["geometry"].isna(), "town_name"].iloc[0]
        raise ValueError(f"town boundaries: no polygon for {missing}")
    return gpd.GeoDataFrame(merged.drop(columns="town_key"), geometry="geometry",
                            crs=boundaries.crs)  # fmt: skip


def _towns_of(tracts: pd.DataFrame) -> pd.DataFrame:
    """The run's towns, with GEOIDs in the tract table's coding (planning-region county codes
    from 2022 on in Connecticut), so that town tables join to the tracts."""
    towns = tracts[["town_geoid", "town_name"]].dropna().drop_duplicates()
    if towns["town_geoid"].duplicated().any():
        repeated = towns.loc[towns["town_geoid"].duplicated(), "town_geoid"].iloc[0]
        raise ValueError(f"tract table: town {repeated} has two names")
    return towns.sort_values("town_geoid", ignore_index=True)


def town_assisted_share(
    files: Mapping[int | str, str | Path], tracts: pd.DataFrame
) -> pd.DataFrame:
    """Every list year of a state's town lists as one tidy table of :data:`TOWN_SHARE_COLUMNS`.

    Town GEOIDs follow the tract table's coding. ``percent_recomputed`` is 100 × total /
    housing units; ``published_check`` names the checks of :func:`appeals.percent_check`
    the published row fails ("percent", "total", or both joined by ";"; empty if none).
    """
    lists = appeals.read_appeals_lists({int(year): path for year, path in files.items()})
    table = appeals.attach_town_geoids(lists, _towns_of(tracts))
    failures = (
        appeals.percent_check(table)
        .groupby(["year", "town_name"])["check"]
        .agg(lambda checks: ";".join(sorted(checks)))
        .rename("published_check")
    )
    table = table.merge(failures, on=["year", "town_name"], how="left")
    table["published_check"] = table["published_check"].fillna("")
    table = siting.appeals_gap(table)
    table["percent_recomputed"] = 100 * table["assisted_share"]
    table["geography_level"] = "town"
    return table[TOWN_SHARE_COLUMNS].sort_values(["year", "town_geoid"], ignore_index=True)


#: The tract columns subsidized_by_tract.parquet keeps before its geometry and unit counts.
BY_TRACT_ID_COLUMNS = [
    "year", "geography_level", "geoid", "name", "state_fips", "state_name", "county_geoid",
    "county_name", "town_geoid", "town_name", "planning_region_geoid", "planning_region_name",
    "cbsa_geoid", "cbsa_name", "households",
]  # fmt: skip


def subsidized_by_tract(
    inventory: str | Path, tracts: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Project-based assisted units per tract from a state project inventory.

    Returns (tract GeoDataFrame: the tract IDs, geography, households and the unit columns
    of :data:`PROGRAMS`; the inventory's projects as points with their tracts). Housing
    authority offices (tenant-based vouchers) are left out of both.
    """
    year = int(tracts["year"].iloc[0])
    projects = assisted.projects(assisted.read_assisted_projects(inventory))
    placed = assisted.assign_tracts(projects, tracts)
    for problem, count in placed["location"].value_counts().items():
        log.info("%s: %d project(s) %s", Path(inventory).name, count, problem)
    units = assisted.units_by_tract(placed, tracts, year=year)
    keep = [c for c in BY_TRACT_ID_COLUMNS if c in tracts.columns]
    by_tract = tracts[[*keep, "geometry"]].merge(
        units.drop(columns=["year", "geography_level"]), on="geoid", how="left", validate="1:1"
    )
    return gpd.GeoDataFrame(by_tract, geometry="geometry", crs=tracts.crs), placed


def _flagged(tracts: pd.DataFrame, recaps: pd.DataFrame) -> pd.DataFrame:
    """Tracts with the R/ECAP flag, non-white share and poverty rate the metrics use."""
    return tracts.merge(
        recaps[["geoid", "recap", "nonwhite_share", "poverty_rate"]],
        on="geoid",
        how="left",
        validate="1:1",
    )


def siting_tables(
    tracts: pd.DataFrame,
    recaps: pd.DataFrame,
    by_tract: pd.DataFrame,
    town_shares: pd.DataFrame | None,
    hud_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The siting metrics of every program, of HUD's counts per tract when given
    (:func:`hud_siting_units`; suppressed tracts left out and counted), and of the 8-30g
    lists' latest year when the state has them, for every area, as rows of
    :data:`siting.SITING_COLUMNS`."""
    units = by_tract[["geoid", *PROGRAMS]]
    suppressed: list[str] = []
    if hud_table is not None:
        hud_units = hud_siting_units(hud_table)
        suppressed = [c for c in hud_units.columns if c != "geoid"]
        for program, withheld in hud_units[suppressed].isna().sum().items():
            if withheld:
                log.info("%s: %d tract(s) withheld by HUD, left out of its metrics and "
                         "counted in tracts_suppressed", program, withheld)  # fmt: skip
        units = units.merge(hud_units, on="geoid", how="left", indicator="listed")
        # A tract no HUD source lists has none of HUD's units; a listed one keeps its gaps.
        units.loc[units.pop("listed") == "left_only", suppressed] = 0.0
    metrics = siting.siting_metrics(
        _flagged(tracts, recaps), units, [*PROGRAMS, *suppressed], suppressed=suppressed
    )
    if town_shares is None or town_shares.empty:
        return metrics
    latest = town_shares[town_shares["year"] == town_shares["year"].max()]
    return pd.concat([metrics, siting.appeals_summary(latest, tracts)], ignore_index=True)


#: What identifies a row of siting_metrics.csv: its columns up to ``metric``.
_SITING_KEYS = siting.SITING_COLUMNS[: siting.SITING_COLUMNS.index("metric") + 1]

#: Columns of siting_sensitivity.csv, in order (docs/outputs.md).
SENSITIVITY_COLUMNS = [*_SITING_KEYS, "value", "value_without_shared_points", "difference"]


def shared_point_sensitivity(
    tracts: pd.DataFrame, recaps: pd.DataFrame, projects: pd.DataFrame
) -> pd.DataFrame:
    """The inventory programs' siting metrics as listed and without the projects at shared
    points (:func:`assisted.at_shared_point`: likely office addresses, whose tract is
    uncertain), side by side as :data:`SENSITIVITY_COLUMNS`.

    ``projects`` are the placed projects of :func:`subsidized_by_tract`. ``difference`` is
    the value without the shared points minus the value as listed."""
    year = int(tracts["year"].iloc[0])
    flagged = _flagged(tracts, recaps)
    placed = projects[projects["geoid"].notna()]
    variants = []
    for kept in (placed, placed[~assisted.at_shared_point(placed)]):
        units = assisted.units_by_tract(kept, tracts, year=year)
        variants.append(siting.siting_metrics(flagged, units, list(PROGRAMS)))
    table = (
        variants[0]
        .drop(columns="denominator")
        .merge(
            variants[1][[*_SITING_KEYS, "value"]].rename(
                columns={"value": "value_without_shared_points"}
            ),
            on=_SITING_KEYS,
            how="outer",
            validate="1:1",
        )
    )
    table = table[table["program"] != siting.ALL_HOUSING]
    table["difference"] = table["value_without_shared_points"] - table["value"]
    return table[SENSITIVITY_COLUMNS].sort_values(_SITING_KEYS, ignore_index=True)


def fit_models(
    tracts: gpd.GeoDataFrame, by_tract: pd.DataFrame, settings: Mapping[str, str | None]
) -> siting_model.SitingResults:
    """The siting model of each of :data:`MODELLED_PROGRAMS`, with the config's family,
    fixed effects, clusters and counterfactual region (``subsidized.model``).

    The coefficient and fit tables end with the tracts' ACS ``year`` and the state the model
    is fitted to (``geography_level`` ``state``, ``geography_id``), the counterfactual with
    ``year`` and ``geography_level`` ``tract``, so the states' tables stack unambiguously."""
    frame = tracts.merge(
        by_tract[["geoid", *MODELLED_PROGRAMS]], on="geoid", how="left", validate="1:1"
    )
    results = siting_model.fit_siting_models(
        frame,
        list(MODELLED_PROGRAMS),
        total_program=None,
        family=settings["family"],
        fixed_effects=settings["fixed_effects"],
        cluster=settings["cluster"],
        region=settings["region"],
    )
    year = int(tracts["year"].iloc[0])
    state = {"year": year, "geography_level": "state",
             "geography_id": str(tracts["state_fips"].iloc[0])}  # fmt: skip
    return results._replace(
        coefficients=results.coefficients.assign(**state),
        fit=results.fit.assign(**state),
        counterfactual=results.counterfactual.assign(year=year, geography_level="tract"),
    )


#: Columns holding Census GEOIDs in the stage's CSV tables: read back as strings.
_ID_COLUMNS = (
    "geoid",
    "geography_id",
    "town_geoid",
    "region",
    "region_geoid",
    "fixed_effect_reference",
)

#: Output table file name -> the part it is stacked from.
_TABLE_PARTS = {
    "subsidized_by_tract.parquet": "by_tract",
    "siting_metrics.csv": "metrics",
    "siting_sensitivity.csv": "sensitivity",
    "siting_model.csv": "coefficients",
    "siting_model_fit.csv": "fit",
    "siting_counterfactual.csv": "counterfactual",
    "siting_model_summary.txt": "summary",
    "town_assisted_share.csv": "town_shares",
    "hud_by_tract.csv": "hud",
}


def _read_part(path: str | Path) -> pd.DataFrame:
    if str(path).endswith(".parquet"):
        return gpd.read_parquet(path)
    return pd.read_csv(path, dtype=dict.fromkeys(_ID_COLUMNS, str), keep_default_na=False,
                       na_values=[""])  # fmt: skip


def collect_tables(
    parts: Mapping[str, list[str]],
    outputs: list[str],
    part_of: Mapping[str, str] = _TABLE_PARTS,
) -> None:
    """Stack each state's parts into the version's tables: output file name -> the part it is
    stacked from (``part_of``; the subsidized stage's :data:`_TABLE_PARTS` by default).

    Summaries are joined as text; the tables keep their columns, and their IDs stay strings.
    """
    for output in outputs:
        name = Path(output).name
        if name not in part_of:
            raise ValueError(f"collect_tables: no part makes {name}")
        files = parts[part_of[name]]
        if name.endswith(".txt"):
            texts = [Path(f).read_text(encoding="utf-8").rstrip("\n") for f in files]
            Path(output).write_text("\n\n".join(texts) + "\n", encoding="utf-8")
            continue
        stacked = pd.concat([_read_part(f) for f in files], ignore_index=True)
        if name.endswith(".parquet"):
            gpd.GeoDataFrame(stacked, geometry="geometry").to_parquet(output, index=False)
        else:
            stacked.to_csv(output, index=False, float_format="%.10g", lineterminator="\n")


# --------------------------------------------------------------------------------------------
# HUD sources, per tract
# --------------------------------------------------------------------------------------------

#: Columns of hud_by_tract.csv: long and tidy, one row per tract, source, program and
#: measure that HUD reports (no row is invented for a tract HUD does not list).
HUD_COLUMNS = [
    "year",
    "geography_level",
    "geoid",
    "source",
    "program",
    "measure",
    "value",
    "suppressed",
]

#: PSH measures carried into hud_by_tract.csv.
PSH_MEASURES = (
    "subsidized_units",
    "households_reported",
    "pct_minority",
    "pct_black_nh",
    "pct_hispanic",
    "average_household_income",
)


def _run_geoids(tracts: pd.DataFrame) -> dict[str, str]:
    """Tract GEOID as HUD may write it -> the run's tract GEOID: HUD's 2020-tract files may
    use the boundary files' county codes or the ACS year's (Connecticut's planning regions)."""
    mapping = dict(zip(tracts["geoid"].astype(str), tracts["geoid"].astype(str), strict=True))
    if "boundary_geoid" in tracts:
        mapping.update(
            zip(tracts["boundary_geoid"].astype(str), tracts["geoid"].astype(str), strict=True)
        )
    return mapping


def _located(table: pd.DataFrame, tracts: pd.DataFrame, source: str) -> pd.DataFrame:
    """``table`` with ``geoid`` in the run's coding; rows of other tracts are dropped, logged."""
    mapping = _run_geoids(tracts)
    geoid = table["tract_geoid"].astype(str).map(mapping)
    if geoid.isna().any():
        log.warning("%s: %d row(s) name tracts not in the run's tract table; left out",
                    source, int(geoid.isna().sum()))  # fmt: skip
    return table.assign(geoid=geoid)[geoid.notna()]


def _long(frame: pd.DataFrame, source: str, measures: Mapping[str, str]) -> pd.DataFrame:
    """Rows of HUD_COLUMNS from a frame with ``geoid``, ``program`` and measure columns."""
    parts = []
    for measure, column in measures.items():
        parts.append(
            pd.DataFrame(
                {
                    "geoid": frame["geoid"],
                    "source": source,
                    "program": frame["program"],
                    "measure": measure,
                    "value": frame[column].astype(float),
                    "suppressed": frame[column].isna(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def hud_by_tract(
    tracts: gpd.GeoDataFrame,
    files: Mapping[str, str | Path],
    settings: Mapping[str, int | None],
    *,
    state: str,
) -> pd.DataFrame:
    """HUD's figures for the run's tracts as the tidy table of :data:`HUD_COLUMNS`.

    ``files`` holds the HUD files the config asks for (``subsidized.hud``), by what they
    are; ``settings`` gives their years:

    - ``psh`` (year ``psh_year``): the Picture of Subsidized Households tract workbook, one
      row per program (:data:`hud.PSH_PROGRAMS`) and measure of :data:`PSH_MEASURES`;
    - ``vouchers`` (``voucher_vintage``): Housing Choice Vouchers by tract, ``vouchers``
      and ``vouchers_pct_of_renter_units``;
    - ``lihtc`` and ``lihtc_geocodes`` (``lihtc_vintage``): the LIHTCPUB zip and its eGIS
      geocodes; per tract, ``projects``, ``units`` and ``low_income_units`` of the LIHTC
      projects placed in it, by precise coordinates where HUD's geocode flag allows, else
      by the tract HUD gives.

    Suppressed or missing values stay in the table with ``suppressed`` true and no value,
    never as zero; each reader's counts of decoded codes are logged.
    """
    psh = (files["psh"], settings["psh_year"]) if "psh" in files else None
    vouchers = (files["vouchers"], settings["voucher_vintage"]) if "vouchers" in files else None
    lihtc = (
        (files["lihtc"], files["lihtc_geocodes"], settings["lihtc_vintage"])
        if "lihtc" in files
        else None
    )
    year = int(tracts["year"].iloc[0])
    parts = []
    if psh is not None:
        path, psh_year = psh
        read = hud.read_psh_tracts(path, year=int(psh_year), state=state)
        table = _located(read.table, tracts, str(path))
        parts.append(_long(table, "hud_psh", {m: m for m in PSH_MEASURES}))
    if vouchers is not None:
        path, vintage = vouchers
        read = hud.read_hcv_tracts(path, state=state, vintage=int(vintage))
        table = _located(read.table, tracts, str(path)).assign(program="housing_choice_vouchers")
        measures = ("vouchers", "vouchers_pct_of_renter_units")
        parts.append(_long(table, "hud_hcv", {m: m for m in measures}))
    if lihtc is not None:
        database, geocodes, vintage = lihtc
        projects = hud.read_lihtc_projects(
            database, state=state, vintage=int(vintage),
            geocoding=hud.read_lihtc_geocoding(geocodes),
        ).table  # fmt: skip
        parts.append(_long(_lihtc_tracts(projects, tracts, str(database)), "hud_lihtc",
                           {"projects": "projects", "units": "units",
                            "low_income_units": "low_income_units"}))  # fmt: skip
    if not parts:
        raise ValueError("hud_by_tract: no HUD source given")
    table = pd.concat(parts, ignore_index=True).assign(year=year, geography_level="tract")
    return table[HUD_COLUMNS].sort_values(["source", "program", "measure", "geoid"],
                                          ignore_index=True)  # fmt: skip


#: HUD counts that enter the siting metrics as programs: (source, measure) -> what is
#: counted. Percentages and incomes of hud_by_tract.csv describe residents, not places.
HUD_SITING_MEASURES = {
    ("hud_psh", "subsidized_units"): "units",
    ("hud_psh", "households_reported"): "households",
    ("hud_hcv", "vouchers"): "households",
    ("hud_lihtc", "units"): "units",
}

#: Plain names of HUD's program groups and sources, for labels.
HUD_LABELS = {
    "all_programs": "all programs",
    "public_housing": "public housing",
    "project_based_section_8": "project-based Section 8",
    "other_multifamily": "other HUD multifamily",
    "housing_choice_vouchers": "vouchers",
    "lihtc": "LIHTC",
    "hud_hcv": "HUD vouchers by tract",
    "hud_lihtc": "HUD LIHTC database",
}


def hud_siting_units(hud_table: pd.DataFrame) -> pd.DataFrame:
    """HUD's counts per tract as siting programs: one row per tract some HUD source lists,
    one column per source, program group and count of :data:`HUD_SITING_MEASURES`:
    ``hud_psh_<group>_<units|households>`` (PSH programs summed into
    :data:`hud.PSH_PROGRAM_GROUPS`), ``hud_hcv_households``, ``hud_lihtc_units``.

    A tract a source lists without a program counts 0 for it (the files list every program
    present); a suppressed count stays missing, and so does a group sum with a suppressed
    part."""
    groups = {program: group for program, group in hud.PSH_PROGRAMS.values()}
    parts = []
    for (source, measure), counted in HUD_SITING_MEASURES.items():
        rows = hud_table[(hud_table["source"] == source) & (hud_table["measure"] == measure)]
        if rows.empty:
            continue
        if source == "hud_psh":
            column = "hud_psh_" + rows["program"].map(groups) + f"_{counted}"
        else:
            column = pd.Series(f"{source}_{counted}", index=rows.index)
        wide = (
            rows.assign(column=column)
            .groupby(["geoid", "column"])["value"]
            .agg(_sum_or_missing)
            .unstack("column", fill_value=0.0)
        )
        parts.append(wide)
    if not parts:
        raise ValueError("HUD table: no counts to site (no PSH units, vouchers or LIHTC units)")
    listed = pd.concat(parts, axis=1)
    # Tracts one source lists and another does not: none of the other's units.
    listed = listed.where(listed.notna() | _listed_by_all(listed, parts), 0.0)
    return listed.sort_index(axis=1).reset_index().rename_axis(columns=None)


def _listed_by_all(listed: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """True where the cell's source lists the tract (so a missing value is a suppression)."""
    mask = pd.DataFrame(False, index=listed.index, columns=listed.columns)
    for part in parts:
        mask.loc[part.index, part.columns] = True
    return mask


def program_label(program: str) -> str:
    """A program column's plain name: the inventory's groups, or HUD's source and group."""
    if program in PROGRAMS:
        return PROGRAMS[program]
    for (source, _measure), counted in HUD_SITING_MEASURES.items():
        prefix = f"{source}_"
        if not (program.startswith(prefix) and program.endswith(f"_{counted}")):
            continue
        if source == "hud_psh":
            group = program[len(prefix) : -len(counted) - 1]
            if group in hud.PSH_PROGRAM_GROUPS:
                return f"HUD PSH: {HUD_LABELS[group]} ({counted})"
        elif program == f"{source}_{counted}":
            return f"{HUD_LABELS[source]} ({counted})"
    raise ValueError(f"no label for program column {program!r}")


#: HUD programs shown beside the inventory's in the siting chart, when the run has them:
#: the households of all HUD programs and of vouchers, and the LIHTC database's units.
CHARTED_HUD_PROGRAMS = (
    "hud_psh_all_programs_households",
    "hud_psh_housing_choice_vouchers_households",
    "hud_hcv_households",
    "hud_lihtc_units",
)


def charted_programs(programs: Iterable[str]) -> dict[str, str]:
    """The programs of the siting chart among ``programs``, in order, with their labels."""
    present = set(programs)
    return {
        program: program_label(program)
        for program in [*PROGRAMS, *CHARTED_HUD_PROGRAMS]
        if program in present
    }


def _lihtc_tracts(projects: pd.DataFrame, tracts: gpd.GeoDataFrame, source: str) -> pd.DataFrame:
    """LIHTC projects per run tract: by precise coordinates, placed as the state inventory's
    projects are (:func:`assisted.assign_tracts`), else by HUD's tract code; projects with
    neither are logged and left out."""
    precise = projects["coordinates_precise"].fillna(False).astype(bool)
    points = assisted.assign_tracts(
        projects[precise].rename(columns={"hud_id": "project_id", "city": "town"}), tracts
    )["geoid"]
    by_code = projects.loc[~precise, "tract_geoid"].astype(str).map(_run_geoids(tracts))
    placed = projects.assign(geoid=pd.concat([points, by_code]).reindex(projects.index))
    unplaced = placed["geoid"].isna()
    if unplaced.any():
        log.warning("%s: %d LIHTC project(s) without a precise point or a known tract; left "
                    "out", source, int(unplaced.sum()))  # fmt: skip
    per_tract = (
        placed[~unplaced]
        .groupby("geoid")
        .agg(
            projects=("hud_id", "size"),
            units=("n_units", _sum_or_missing),
            low_income_units=("li_units", _sum_or_missing),
        )
        .reset_index()
    )
    return per_tract.assign(program="lihtc")


def _sum_or_missing(values: pd.Series) -> float:
    """The sum, or missing if any part is missing: a tract's total is never understated."""
    return float(values.sum()) if values.notna().all() else np.nan
