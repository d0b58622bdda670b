# Shared set-up, paths and input functions. No rules here.

import re
import sys
from functools import cache
from pathlib import Path

import yaml
from snakemake.exceptions import IncompleteCheckpointException
from snakemake.logging import logger

# The library lives in workflow/scripts so that scripts import it under any deployment.
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from housing_segregation import hud, paths, vintages
from housing_segregation.units import TRACT, UNIT_LEVELS, unit_level
from housing_segregation.acs import api_variables
from housing_segregation.download import BOUNDARY_LAYERS
from housing_segregation.captions import (
    figure_files,
    figure_subcategory,
    series_subcategory,
)
from housing_segregation.cross_state import cbsa_spans, read_cross_state_cbsas
from housing_segregation.paths import point_latest_at
from housing_segregation.provenance import check_inputs_unchanged
from housing_segregation.table_markdown import HEADLINES
from housing_segregation.table_markdown import headline_files as rendered_headlines
from housing_segregation.table_schemas import has_schema, schema_path
from housing_segregation.config import (
    boundary_vintage,
    cbsa_delineation_vintage,
    code_fingerprint,
    load_schema,
    results_version,
    state_year_seed,
    tract_crosswalk_for,
    tract_decade,
    validate_config,
    validate_scenarios,
)

WORKFLOW_ROOT = Path(workflow.basedir)

_validated = validate_config(
    config, load_schema(WORKFLOW_ROOT / "workflow" / "schemas" / "config.schema.yaml")
)
config.clear()
config.update(_validated)


def _load_scenarios(path):
    """The scenarios file, validated, every default filled in."""
    if not Path(path).is_file():
        raise ValueError(f"config key 'scenarios.file': {path} not found")
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return validate_scenarios(
        document,
        load_schema(WORKFLOW_ROOT / "workflow" / "schemas" / "scenarios.schema.yaml"),
        str(path),
    )


# The resolved scenarios join the config, so they are part of the version and provenance.
config["scenarios"]["resolved"] = _load_scenarios(config["scenarios"]["file"])

MIRROR = config["mirror"]
VERSION = results_version(config, code_fingerprint(WORKFLOW_ROOT))
RESULTS = f"results/{VERSION}"
RAW = str(paths.RAW_CACHE)
# The units the indices are measured over; tract tables are made in every run (R/ECAPs,
# subsidized housing and scenarios use them).
UNIT = unit_level(config["unit_level"])
UNITS_BY_STEM = {level.table_stem: level for level in UNIT_LEVELS.values()}
UNIT_TABLE_STEMS = "|".join(UNITS_BY_STEM)


wildcard_constraints:
    year=r"\d{4}",
    vintage=r"\d{4}",
    state=r"\d{2}",
    cbsa=r"\d{5}",
    layer="|".join(sorted(BOUNDARY_LAYERS)),
    unit_level="|".join(UNIT_LEVELS),
    scenario=r"[a-z][a-z0-9_]*",
    sweep=r"[a-z][a-z0-9_]*",
    variant=r"(harmonised/)?",


# Cached: input functions call these once per job, thousands of times in a national run.
@cache
def state_years():
    """Every (state, year) pair the run covers."""
    return tuple(
        (state, year) for year in config["years"] for state in config["states"]
    )


def measurement_threads(wildcards):
    """The cores shared among the state-year measurement jobs: with several jobs each gets
    one and they run side by side; a single job gets them all for its simulations."""
    # Under a cluster executor the run has no core total (workflow.cores raises): one each,
    # unless a profile sets the threads (profiles/slurm/).
    cores = workflow.resource_settings.cores
    cores = cores if isinstance(cores, int) else 1
    return max(1, cores // len(state_years()))


def raw_input(layout_candidates):
    """A raw input's path: in the mirror if one is set, else in the download cache.

    The first candidate is the cache's form (what the downloader writes)."""
    if MIRROR:
        return paths.mirror_file(MIRROR, layout_candidates)
    return f"{RAW}/{layout_candidates[0]}"


def acs_file(state, year, unit=TRACT):
    return raw_input([paths.acs_layout(year, state, unit)])


def boundary_file(state, year, layer):
    vintage = boundary_vintage(config, int(year), layer)
    return raw_input(
        [
            paths.boundary_layout(vintage, state, layer, ext)
            for ext in ("zip", "geojson")
        ]
    )


def crosswalk_spec(wildcards):
    layer = UNITS_BY_STEM[wildcards.units].boundary_layer
    return tract_crosswalk_for(config, wildcards.state, int(wildcards.year), layer)


def unit_inputs(state, year, unit=UNIT):
    """Raw inputs of the table of one state-year's ``unit``s (tracts or block groups)."""
    inputs = {
        "acs": acs_file(state, year, unit),
        "unit_boundaries": boundary_file(state, year, unit.boundary_layer),
        "town_boundaries": boundary_file(state, year, "cousub"),
    }
    spec = tract_crosswalk_for(config, state, int(year), unit.boundary_layer)
    if spec:
        inputs["crosswalk"] = raw_input([spec["path"]])
    inputs["cbsa_delineation"] = raw_input(
        [paths.delineation_layout(cbsa_delineation_vintage(config, int(year)), state)]
    )
    regions = config["planning_regions"].get(state)
    if regions:
        inputs["planning_regions"] = raw_input([regions["path"]])
    return inputs


def normalise_inputs(wildcards):
    return unit_inputs(wildcards.state, wildcards.year, UNITS_BY_STEM[wildcards.units])


def unit_of_table(wildcards):
    return UNITS_BY_STEM[wildcards.units].name


def unit_table(variant, state, year):
    """The table of the units the indices are measured over (``variant`` "harmonised/" for
    an older year's counts on the latest year's units)."""
    return f"{RESULTS}/data/{variant}{UNIT.table_stem}_{state}_{year}.parquet"


def subsidized_state_years():
    """(state, year) of the subsidized-housing stage: each state with a project inventory,
    paired with the latest ACS year of the run."""
    inventories = config["subsidized"]["project_inventories"]
    return [
        (state, max(config["years"]))
        for state in config["states"]
        if state in inventories
    ]


def _obtainable(spec):
    """Whether a state-source file can be had: it has a URL, or is already on disk."""
    root = Path(MIRROR) if MIRROR else Path(RAW)
    return spec["url"] is not None or (root / spec["path"]).is_file()


@cache
def town_list_states():
    """States of the subsidized stage whose town lists (CGS 8-30g) are all obtainable.
    Lists without a URL must be put in the raw cache by hand; until they are, the town
    tables are skipped with a warning rather than failing the run."""
    states = []
    for state, _ in subsidized_state_years():
        lists = config["subsidized"]["town_lists"].get(state)
        if lists is None:
            continue
        missing = [s["path"] for s in lists["files"].values() if not _obtainable(s)]
        if missing:
            folder = Path(MIRROR or RAW) / Path(missing[0]).parent
            logger.warning(
                f"subsidized.town_lists.{state}: {len(missing)} workbook(s) have no URL and "
                f"are not in {folder}/ (e.g. {Path(missing[0]).name}); the town tables and "
                "map are skipped. Put the published workbooks there to include them."
            )
            continue
        states.append(state)
    return tuple(states)


def town_list_files(state):
    """List year -> local path of each of a state's town-list workbooks."""
    files = config["subsidized"]["town_lists"][state]["files"]
    return {year: raw_input([spec["path"]]) for year, spec in sorted(files.items())}


def project_inventory(state):
    return raw_input([config["subsidized"]["project_inventories"][state]["path"]])


def state_source_specs():
    """Layout path -> {path, url} of every state-published subsidized-housing file."""
    specs = {}
    for lists in config["subsidized"]["town_lists"].values():
        for spec in lists["files"].values():
            specs[spec["path"]] = spec
    for spec in config["subsidized"]["project_inventories"].values():
        specs[spec["path"]] = spec
    return specs


def state_source_pattern():
    """A regex matching exactly the configured state-source paths that have a URL (nothing
    if none): files without one are never downloaded, only put in place by hand."""
    paths_with_url = sorted(
        p for p, spec in state_source_specs().items() if spec["url"]
    )
    return (
        "|".join(re.escape(path) for path in paths_with_url)
        if paths_with_url
        else "(?!)"
    )


def state_source_url(wildcards):
    return state_source_specs()[wildcards.source_path]["url"]


def hud_inputs(state):
    """The configured HUD files of one state, by what they are."""
    settings = config["subsidized"]["hud"]
    inputs = {}
    if settings["psh_year"]:
        inputs["psh"] = raw_input(
            [hud.psh_layout(settings["psh_year"], "tract", state)]
        )
    if settings["voucher_vintage"]:
        inputs["vouchers"] = raw_input(
            [hud.hcv_layout(settings["voucher_vintage"], state)]
        )
    if settings["lihtc_vintage"]:
        inputs["lihtc"] = raw_input([hud.lihtc_layout(settings["lihtc_vintage"])])
        inputs["lihtc_geocodes"] = raw_input(
            [hud.lihtc_geocoding_layout(settings["lihtc_vintage"], state)]
        )
    return inputs


def hud_tract_inputs(wildcards):
    return hud_inputs(wildcards.state)


def hud_settings(wildcards):
    return config["subsidized"]["hud"]


def hud_psh_pattern():
    """The PSH tract files the run needs (a regex; nothing if PSH is not configured)."""
    year = config["subsidized"]["hud"]["psh_year"]
    if not year:
        return "(?!)"
    names = {
        hud.psh_file_name(year, "tract", state) for state, _ in subsidized_state_years()
    }
    return "|".join(re.escape(n) for n in sorted(names)) if names else "(?!)"


def hud_psh_year(wildcards):
    return config["subsidized"]["hud"]["psh_year"]


def hud_psh_state(wildcards):
    """A state whose tracts the PSH file holds (HUD splits the country in two files)."""
    year = config["subsidized"]["hud"]["psh_year"]
    return next(
        state
        for state, _ in subsidized_state_years()
        if hud.psh_file_name(year, "tract", state) == wildcards.psh_file
    )


def subsidized_inputs(state, year):
    """Raw inputs of the subsidized stage of one state."""
    inputs = {"inventory": project_inventory(state), **hud_inputs(state)}
    if state in town_list_states():
        inputs.update(
            {f"town_list_{y}": path for y, path in town_list_files(state).items()}
        )
    return inputs


def relationship_file():
    """The Census 2020-to-2010 relationship file of the run's units, where the time series
    carries 2010 tracts (or block groups) onto 2020 ones: downloaded into the raw cache, or
    read from the mirror if it holds the file. None otherwise (a mirror without it):
    harmonise then overlays the two years' boundaries instead, and provenance lists no
    relationship file."""
    decades = {tract_decade(config, year) for year in config["years"]}
    if len(config["years"]) < 2 or decades != {2010, 2020}:
        return None
    layout = vintages.relationship_file(2010, 2020, UNIT.name).path
    if MIRROR:
        return str(Path(MIRROR) / layout) if (Path(MIRROR) / layout).is_file() else None
    return f"{RAW}/{layout}"


def harmonise_relationships(wildcards):
    """The relationship file as an input of harmonise_units, where the run has it."""
    relationships = relationship_file()
    return {"relationships": relationships} if relationships else {}


@cache
def raw_inputs_used():
    """Layout path -> local path of every raw input of the run."""
    used = {}
    for state, year in state_years():
        for unit in {TRACT, UNIT}:
            for local_path in unit_inputs(state, year, unit).values():
                used[layout_path_of(local_path)] = local_path
    if relationship_file():
        used[layout_path_of(relationship_file())] = relationship_file()
    for state, year in subsidized_state_years():
        for local_path in subsidized_inputs(state, year).values():
            used[layout_path_of(local_path)] = local_path
    return dict(sorted(used.items()))


def layout_path_of(local_path):
    root = Path(MIRROR) if MIRROR else Path(RAW)
    return Path(local_path).relative_to(root).as_posix()


def placed_by_hand():
    """Layout paths of the run's raw inputs that have no URL: the user puts them in the raw
    cache by hand (or runs with a mirror), so they have no download record."""
    specs = state_source_specs()
    return sorted(p for p in run_raw_inputs() if p in specs and specs[p]["url"] is None)


def download_records_used():
    if MIRROR:
        return []
    placed = set(placed_by_hand())
    return [
        str(paths.download_record_path(p)) for p in run_raw_inputs() if p not in placed
    ]


def crosswalk_url(wildcards):
    """The URL of the table stored at crosswalks/<filename> in the raw layout."""
    wanted = f"crosswalks/{wildcards.filename}"
    for section in ("tract_geoid_crosswalks", "planning_regions"):
        for spec in config[section].values():
            if spec["path"] == wanted:
                return spec["url"]
    raise ValueError(
        f"no tract_geoid_crosswalks or planning_regions entry has path {wanted!r}"
    )


def delineation_url(wildcards):
    urls = config["cbsa_delineation_urls"]
    if wildcards.vintage not in urls:
        raise ValueError(
            f"config key 'cbsa_delineation_urls': no URL for delineation {wildcards.vintage}"
        )
    return urls[wildcards.vintage]


def delineation_vintage(wildcards):
    return cbsa_delineation_vintage(config, int(wildcards.year))


def planning_region_spec(wildcards):
    return config["planning_regions"].get(wildcards.state)


def own_state(wildcards):
    """The states whose CBSAs a state's tract table measures whole: its own. A CBSA that
    crosses its lines is measured by compute_cbsa_indices from all its states' tracts.
    """
    return [wildcards.state]


# Cross-state CBSAs (housing_segregation.cross_state): which CBSAs cross state lines is read
# from the run's states' delineations by the checkpoint list_cross_state_cbsas; each is then
# measured per year by compute_cbsa_indices from the tract tables of the states it spans.


def cross_state_delineations():
    """(vintage, state) of the delineation files the checkpoint reads: each of the run's
    states, for each vintage its years use."""
    vintages = sorted({cbsa_delineation_vintage(config, y) for y in config["years"]})
    return [(vintage, state) for vintage in vintages for state in config["states"]]


def cross_state_delineation_files():
    return [
        raw_input([paths.delineation_layout(vintage, state)])
        for vintage, state in cross_state_delineations()
    ]


def cross_state_delineation_vintages(wildcards):
    return [vintage for vintage, _ in cross_state_delineations()]


CROSS_STATE_LISTING = f"{RESULTS}/data/cross_state_cbsas.csv"


@cache
def _read_cross_state_listing(path, modified):
    return read_cross_state_cbsas(path)


def cross_state_listing():
    """The checkpoint's list of cross-state CBSAs (raises Snakemake's incomplete-checkpoint
    signal until it exists, so the jobs that need it wait for it)."""
    path = checkpoints.list_cross_state_cbsas.get().output.table
    return _read_cross_state_listing(path, Path(path).stat().st_mtime_ns)


def cbsa_vintage(variant, year):
    """The delineation of a year's tracts: their own year's, or for harmonised tracts (on
    the latest year's geography) the latest year's."""
    return cbsa_delineation_vintage(
        config, max(config["years"]) if variant else int(year)
    )


def cross_state_parts(variant, years):
    """The index files of every cross-state CBSA in each of ``years``. Until the checkpoint
    has run, its list stands in for them, so that the rest of the job's inputs (each state's
    own) are planned now, and shown by a dry run; the job is re-planned once it has run.
    """
    try:
        listing = cross_state_listing()
    except IncompleteCheckpointException as incomplete:
        # Flagged as the checkpoint's target, as Snakemake flags what it puts in the place
        # of a whole input function: its first pass then leaves the job's changes unjudged.
        return [incomplete.targetfile]
    return [
        f"{RESULTS}/data/{variant}cbsa_indices_{cbsa}_{year}.csv"
        for year in years
        for cbsa in cbsa_spans(listing, cbsa_vintage(variant, year))
    ]


@cache
def _in_mirror(state, year, unit):
    """Whether the mirror has every raw input of a state-year's table of ``unit``s."""
    try:
        unit_inputs(state, year, unit)
    except FileNotFoundError:
        return False
    return True


def unit_table_at_hand(state, year, variant, unit=UNIT):
    """Whether a cross-state CBSA job reads this state's table of ``unit``s: a state of the
    run always; another one with `cbsa_other_states`, downloaded as needed or, in mirror
    mode, if the mirror has its files (for harmonised tracts, the latest year's too)."""
    if state in config["states"]:
        return True
    if not config["cbsa_other_states"]:
        return False
    years = {int(year), max(config["years"])} if variant else {int(year)}
    return not MIRROR or all(_in_mirror(state, y, unit) for y in years)


def recap_other_states(state, year, listing):
    """The other states the state's cross-state CBSAs span whose tract tables are at hand:
    HUD's R/ECAP threshold is the mean over the whole CBSA's tracts."""
    spans = cbsa_spans(listing, cbsa_vintage("", year))
    spanned = {
        other for states in spans.values() if state in states for other in states
    }
    return [
        other
        for other in sorted(spanned - {state})
        if unit_table_at_hand(other, year, "", TRACT)
    ]


def recap_elsewhere_tables(wildcards):
    """The tract tables of :func:`recap_other_states` (until the checkpoint has run, its
    list stands in for them, as in cross_state_parts)."""
    try:
        listing = cross_state_listing()
    except IncompleteCheckpointException as incomplete:
        return [incomplete.targetfile]
    return [
        f"{RESULTS}/data/{TRACT.table_stem}_{other}_{wildcards.year}.parquet"
        for other in recap_other_states(wildcards.state, wildcards.year, listing)
    ]


def recap_cbsa_vintage(wildcards):
    return cbsa_vintage("", wildcards.year)


def other_state_inputs():
    """Layout path -> local path of the raw inputs of the unit tables of states outside
    `states` that the cross-state CBSA jobs read (none until the checkpoint's list exists).
    """
    listing_path = Path(CROSS_STATE_LISTING)
    if not listing_path.is_file():
        return {}
    listing = _read_cross_state_listing(
        str(listing_path), listing_path.stat().st_mtime_ns
    )
    latest = max(config["years"])
    older = [
        y
        for y in config["years"]
        if tract_decade(config, y) < tract_decade(config, latest)
    ]
    used = {}
    for variant, years in (("", config["years"]), ("harmonised/", older)):
        for year in years:
            for spanned in cbsa_spans(listing, cbsa_vintage(variant, year)).values():
                for state in spanned:
                    if state in config["states"]:
                        continue
                    # Each year's own tract tables serve the R/ECAP thresholds too.
                    units = {UNIT} if variant else {UNIT, TRACT}
                    for unit in units:
                        if not unit_table_at_hand(state, year, variant, unit):
                            continue
                        for table_year in {year, latest} if variant else {year}:
                            for path in unit_inputs(state, table_year, unit).values():
                                used[layout_path_of(path)] = path
    return used


def run_raw_inputs():
    """Every raw input of the run: its states' (raw_inputs_used) and, once the cross-state
    CBSAs are listed, those of the other states their jobs read."""
    listing = Path(CROSS_STATE_LISTING)
    return _run_raw_inputs(listing.stat().st_mtime_ns if listing.is_file() else None)


@cache
def _run_raw_inputs(listing_modified):
    return dict(sorted({**raw_inputs_used(), **other_state_inputs()}.items()))


def provenance_raw_inputs(wildcards):
    # Raises until the cross-state CBSAs are listed: Snakemake then plans this job again.
    cross_state_listing()
    return list(run_raw_inputs().values())


def provenance_layout_paths(wildcards):
    return list(run_raw_inputs())


def provenance_download_records(wildcards):
    return download_records_used()


def provenance_placed(wildcards):
    return placed_by_hand()


def download_targets(wildcards):
    """What `snakemake download` fetches: every raw input of the run, the other states' of
    the cross-state CBSAs too (the job is planned again once they are listed)."""
    try:
        cross_state_listing()
    except IncompleteCheckpointException as incomplete:
        return [*run_raw_inputs().values(), incomplete.targetfile]
    return list(run_raw_inputs().values())


def cbsa_spanned(wildcards):
    """Every state the CBSA spans."""
    listing = cross_state_listing()
    return cbsa_spans(listing, cbsa_vintage(wildcards.variant, wildcards.year))[
        wildcards.cbsa
    ]


def cbsa_states_used(wildcards):
    """The states whose units the CBSA is measured from (all it spans, or it is partial)."""
    return [
        state
        for state in cbsa_spanned(wildcards)
        if unit_table_at_hand(state, wildcards.year, wildcards.variant)
    ]


def cbsa_unit_tables(wildcards):
    return [
        unit_table(wildcards.variant, state, wildcards.year)
        for state in cbsa_states_used(wildcards)
    ]


def cbsa_seed(wildcards):
    """The CBSA-year's own random stream, [seed, year, CBSA code] (no state code is 5 digits)."""
    return state_year_seed(
        config["uncertainty"]["seed"], wildcards.cbsa, wildcards.year
    )


def indices_parts(wildcards):
    """Every index file of indices.csv: each state-year's, and each cross-state CBSA's."""
    return [
        *(f"{RESULTS}/data/indices_{s}_{y}.csv" for s, y in state_years()),
        *cross_state_parts("", config["years"]),
    ]


def minimum_units(wildcards):
    return config["minimum_units"]


def spatial_radii(wildcards):
    return config["spatial"]["radii_m"]


def inference_settings(wildcards):
    return config["inference"]


def uncertainty_settings(wildcards):
    return config["uncertainty"]


def recap_thresholds(wildcards):
    return config["recap"]


def acs_api_variables(wildcards):
    """The API variables, as a param so that changing the list downloads the tables again.
    The year's release must publish every table for the units (the vintage table says).
    """
    return api_variables(int(wildcards.year), unit_level(wildcards.unit_level))


def focal_groups(wildcards):
    return config["groups"]


def reference_group(wildcards):
    return config["reference_group"]


def resolved_config(wildcards):
    return config


def crs(wildcards):
    return config["crs"]


def analysis_version(wildcards):
    return VERSION


def tract_boundary_name(wildcards):
    return Path(boundary_file(wildcards.state, wildcards.year, "tract")).name.split(
        "."
    )[0]


check_inputs_unchanged(f"{RESULTS}/provenance.json", run_raw_inputs())


def town_list_inputs(wildcards):
    """The state's town-list workbooks, named town_list_<year>."""
    return {
        f"town_list_{y}": path for y, path in town_list_files(wildcards.state).items()
    }


def inventory_input(wildcards):
    return project_inventory(wildcards.state)


def town_share_input(wildcards):
    """The state's town table of the 8-30g lists, where the state has such lists."""
    if wildcards.state not in town_list_states():
        return {}
    return {
        "town_shares": f"{RESULTS}/data/town_assisted_share_{wildcards.state}_{wildcards.year}.csv"
    }


def hud_configured():
    return any(config["subsidized"]["hud"].values())


def hud_table_input(wildcards):
    """The state's HUD figures per tract, when subsidized.hud sets a source."""
    if not hud_configured():
        return {}
    return {
        "hud": f"{RESULTS}/data/hud_by_tract_{wildcards.state}_{wildcards.year}.csv"
    }


def subsidized_parts(wildcards):
    """Every state's part of each subsidized-stage table, by table."""
    pairs = subsidized_state_years()

    def each(pattern, states=pairs):
        return [pattern.format(state=state, year=year) for state, year in states]

    parts = {
        "by_tract": each(
            f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet"
        ),
        "metrics": each(f"{RESULTS}/data/siting_metrics_{{state}}_{{year}}.csv"),
        "sensitivity": each(
            f"{RESULTS}/data/siting_sensitivity_{{state}}_{{year}}.csv"
        ),
        "coefficients": each(f"{RESULTS}/data/siting_model_{{state}}_{{year}}.csv"),
        "fit": each(f"{RESULTS}/data/siting_model_fit_{{state}}_{{year}}.csv"),
        "counterfactual": each(
            f"{RESULTS}/data/siting_counterfactual_{{state}}_{{year}}.csv"
        ),
        "summary": each(f"{RESULTS}/data/siting_model_summary_{{state}}_{{year}}.txt"),
    }
    if hud_configured():
        parts["hud"] = each(f"{RESULTS}/data/hud_by_tract_{{state}}_{{year}}.csv")
    listed = [(s, y) for s, y in pairs if s in town_list_states()]
    if listed:
        parts["town_shares"] = each(
            f"{RESULTS}/data/town_assisted_share_{{state}}_{{year}}.csv", listed
        )
    return parts


def latest_town_shares(wildcards):
    year = max(config["years"])
    return f"{RESULTS}/data/town_assisted_share_{wildcards.state}_{year}.csv"


def latest_town_boundaries(wildcards):
    return boundary_file(wildcards.state, max(config["years"]), "cousub")


def inventory_source_line(wildcards):
    """The data source of the subsidized-housing figures, for their source line."""
    path = config["subsidized"]["project_inventories"][wildcards.state]["path"]
    return (
        f"state assisted-housing inventory {Path(path).name} (Connecticut Department of "
        "Housing, merged by CT Data Haven)"
        if wildcards.state == "09"
        else f"state assisted-housing inventory {Path(path).name}"
    )


def siting_source_line(wildcards):
    """The data sources of the siting figures: the inventory, and HUD's where configured."""
    settings = config["subsidized"]["hud"]
    hud_sources = [
        f"{name} {settings[key]}"
        for key, name in (
            ("psh_year", "HUD Picture of Subsidized Households"),
            ("voucher_vintage", "HUD Housing Choice Vouchers by tract"),
            ("lihtc_vintage", "HUD LIHTC database"),
        )
        if settings[key]
    ]
    return "; ".join([inventory_source_line(wildcards), *hud_sources])


def town_list_map_year(wildcards):
    return config["subsidized"]["town_lists"][wildcards.state]["map_year"]


def siting_model_settings(wildcards):
    return config["subsidized"]["model"]


def subsidized_tables():
    """The subsidized stage's tables (none if no state of the run has a project inventory)."""
    if not subsidized_state_years():
        return []
    tables = [
        "subsidized_by_tract.parquet",
        "siting_metrics.csv",
        "siting_sensitivity.csv",
        "siting_model.csv",
        "siting_model_fit.csv",
        "siting_counterfactual.csv",
        "siting_model_summary.txt",
    ]
    if town_list_states():
        tables.append("town_assisted_share.csv")
    if hud_configured():
        tables.append("hud_by_tract.csv")
    return [f"{RESULTS}/tables/{name}" for name in tables]


def scenario_names():
    """The scenarios the run measures (config scenarios.run, or every one of the file)."""
    defined = config["scenarios"]["resolved"]["order"]
    selected = config["scenarios"]["run"]
    unknown = [name for name in selected or [] if name not in defined]
    if unknown:
        raise ValueError(
            f"config key 'scenarios.run': {unknown} not in {config['scenarios']['file']}; "
            f"defined: {', '.join(defined)}"
        )
    return list(selected) if selected is not None else list(defined)


def sweep_names():
    """The sensitivity sweeps of the scenarios the run measures."""
    names = scenario_names()
    return [
        sweep["name"]
        for sweep in config["scenarios"]["resolved"]["sweeps"]
        if sweep["scenario"] in names
    ]


def scenario_state_years():
    """Scenarios run where the subsidized stage does (they move its units)."""
    return subsidized_state_years() if scenario_names() else []


def scenario_steps(wildcards):
    return config["scenarios"]["resolved"]["scenarios"][wildcards.scenario]["steps"]


def sweep_definition(wildcards):
    return next(
        sweep
        for sweep in config["scenarios"]["resolved"]["sweeps"]
        if sweep["name"] == wildcards.sweep
    )


def sweep_steps(wildcards):
    scenario = sweep_definition(wildcards)["scenario"]
    return config["scenarios"]["resolved"]["scenarios"][scenario]["steps"]


def scenario_settings(wildcards):
    """What every scenario of a state-year shares: regions, seeds (the measurement stage's,
    so the baseline draws are the indices' own), groups, levels and the R/ECAP rule."""
    settings = config["scenarios"]
    return {
        "region": settings["region"],
        "spatial_indices": settings["spatial_indices"],
        "seed": state_year_seed(
            config["uncertainty"]["seed"], wildcards.state, wildcards.year
        ),
        "interval_level": config["uncertainty"]["level"],
        "groups": config["groups"],
        "reference_group": config["reference_group"],
        "minimum_units": config["minimum_units"],
        "recap": config["recap"],
        "radii": config["spatial"]["radii_m"],
    }


def scenario_draws(wildcards):
    return config["scenarios"]["draws"]


def sweep_draws(wildcards):
    return config["scenarios"]["sweep_draws"]


def scenario_optional_inputs(wildcards):
    """The state's town table and HUD figures, where the run has them."""
    return {**town_share_input(wildcards), **hud_table_input(wildcards)}


def scenario_parts(wildcards):
    """Every state's and scenario's parts of each scenario table, by table."""
    names = scenario_names()
    pairs = scenario_state_years()
    part = f"{RESULTS}/data/scenarios/{{kind}}_{{state}}_{{year}}_{{name}}.csv"
    parts = {
        kind: [
            part.format(kind=kind, state=state, year=year, name=name)
            for state, year in pairs
            for name in names
        ]
        for kind in ("scenarios", "tests", "allocation", "tracts")
    }
    parts["sweeps"] = [
        part.format(kind="sweep", state=state, year=year, name=name)
        for state, year in pairs
        for name in sweep_names()
    ]
    return parts


def scenario_state_parts(kind):
    """An input function: one state-year's parts of a kind (scenarios, allocation, tracts
    or sweep), one per scenario or sweep."""

    def parts(wildcards):
        names = sweep_names() if kind == "sweep" else scenario_names()
        return [
            f"{RESULTS}/data/scenarios/{kind}_{wildcards.state}_{wildcards.year}_{name}.csv"
            for name in names
        ]

    return parts


def scenario_descriptions(wildcards):
    resolved = config["scenarios"]["resolved"]["scenarios"]
    return {name: resolved[name]["description"] for name in scenario_names()}


def scenario_description(wildcards):
    return config["scenarios"]["resolved"]["scenarios"][wildcards.scenario][
        "description"
    ]


def fair_share_scenarios():
    """The scenarios with a fair-share step: each gets a town map of its allocation."""
    resolved = config["scenarios"]["resolved"]["scenarios"]
    return [
        name
        for name in scenario_names()
        if any(step["step"] == "fair_share" for step in resolved[name]["steps"])
    ]


def fair_share_source_line(wildcards):
    """The allocation's sources: the town list it starts from, where the state has one."""
    if wildcards.state in town_list_states():
        year = max(
            int(y) for y in config["subsidized"]["town_lists"][wildcards.state]["files"]
        )
        return (
            f"Connecticut Department of Housing, Affordable Housing Appeals List {year}"
        )
    return inventory_source_line(wildcards)


def scenario_figures():
    """The scenario stage's figures, per state-year."""
    figures = []
    for state, year in scenario_state_years():
        figures.append(f"{RESULTS}/figures/scenario_deltas_{state}_{year}.png")
        figures.append(f"{RESULTS}/figures/scenario_recaps_{state}_{year}.png")
        if sweep_names():
            figures.append(f"{RESULTS}/figures/scenario_sensitivity_{state}_{year}.png")
        figures += [
            f"{RESULTS}/figures/fair_share_{state}_{year}_{name}.png"
            for name in fair_share_scenarios()
        ]
    return figures


def scenario_tables():
    """The scenario stage's tables (none if the run has no scenario)."""
    if not scenario_state_years():
        return []
    tables = [
        "scenarios.csv",
        "scenario_tests.csv",
        "fair_share_allocation.csv",
        "scenario_tracts.csv",
    ]
    if sweep_names():
        tables.append("scenario_sensitivity.csv")
    return [f"{RESULTS}/tables/{name}" for name in tables]


def factsheets():
    """One fact sheet per state, of the run's latest year."""
    year = max(config["years"])
    return [
        f"{RESULTS}/figures/factsheet_{state}_{year}.pdf" for state in config["states"]
    ]


def factsheet_inputs(wildcards):
    """The tables a state's fact sheet draws on: measurement always; siting, the town list
    and the scenarios where the run has them."""
    state, year = wildcards.state, wildcards.year
    inputs = {
        "tracts": f"{RESULTS}/data/tracts_{state}_{year}.parquet",
        "recaps": f"{RESULTS}/data/recaps_{state}_{year}.parquet",
        "indices": f"{RESULTS}/data/indices_{state}_{year}.csv",
    }
    if (state, int(year)) in subsidized_state_years():
        inputs["siting"] = f"{RESULTS}/data/siting_metrics_{state}_{year}.csv"
    if state in town_list_states():
        inputs["town_shares"] = latest_town_shares(wildcards)
    if (state, int(year)) in scenario_state_years():
        inputs["scenarios"] = scenario_state_parts("scenarios")(wildcards)
        inputs["allocation"] = scenario_state_parts("allocation")(wildcards)
    return inputs


def scenario_step_kinds(wildcards):
    """Scenario -> the kinds of its steps, for the fact sheet's agenda panels."""
    resolved = config["scenarios"]["resolved"]["scenarios"]
    return {
        name: [step["step"] for step in resolved[name]["steps"]]
        for name in scenario_names()
    }


def factsheet_source_line(wildcards):
    """The fact sheet's sources besides the ACS: the inventory, HUD and the town list."""
    sources = []
    if (wildcards.state, int(wildcards.year)) in subsidized_state_years():
        sources.append(siting_source_line(wildcards))
    if wildcards.state in town_list_states():
        sources.append(fair_share_source_line(wildcards))
    return "; ".join(sources) or "no subsidized-housing data"


def final_outputs():
    """Everything a run makes: the version's outputs and their manifest."""
    return [*version_outputs(), f"{RESULTS}/MANIFEST.sha256"]


def version_outputs():
    """The version's tables, figures and provenance (the manifest lists what they leave)."""
    outputs = [f"{RESULTS}/tables/indices.csv", f"{RESULTS}/provenance.json"]
    outputs += timeseries_tables()
    if timeseries_tables():
        outputs += [
            f"{RESULTS}/figures/dissimilarity_timeseries_{state}.png"
            for state in config["states"]
        ]
    for state, year in state_years():
        outputs.append(f"{RESULTS}/figures/nonwhite_share_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/dissimilarity_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/recaps_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/multiscalar_profile_{state}_{year}.png")
    outputs += subsidized_tables()
    for state, year in subsidized_state_years():
        outputs.append(f"{RESULTS}/figures/siting_shares_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/siting_model_{state}_{year}.png")
    for state in town_list_states():
        outputs.append(f"{RESULTS}/figures/town_assisted_share_{state}.png")
    outputs += scenario_tables() + scenario_figures() + factsheets()
    # The captions of the figures above (report.smk: write_captions).
    outputs.append(f"{RESULTS}/figures/captions.md")
    # The tables' data dictionaries and headline renderings (tables.smk).
    outputs += table_schema_files() + headline_files()
    return outputs


def version_tables():
    """Every table file the run writes under tables/ (the collect_* rules' outputs)."""
    return [
        f"{RESULTS}/tables/indices.csv",
        *timeseries_tables(),
        *subsidized_tables(),
        *scenario_tables(),
    ]


def year_decades():
    """ACS year -> the census whose tracts its tables use (2010 or 2020)."""
    return {year: tract_decade(config, year) for year in config["years"]}


def harmonised_years():
    """The run's years on older tracts than its latest year's: their counts are carried onto
    the latest year's tracts for the time series."""
    decades = year_decades()
    latest = decades[max(decades)]
    return [year for year in sorted(decades) if decades[year] < latest]


def timeseries_tables():
    """The time series of a run of several years."""
    return (
        [f"{RESULTS}/tables/indices_timeseries.csv"] if len(config["years"]) > 1 else []
    )


def harmonise_target(wildcards):
    """The latest year's unit table: the geography of the time series."""
    return unit_table("", wildcards.state, max(config["years"]))


def timeseries_inputs(wildcards):
    return {
        "native": indices_parts(wildcards),
        "harmonised": [
            *(
                f"{RESULTS}/data/harmonised/indices_{s}_{y}.csv"
                for s, y in state_years()
                if y in harmonised_years()
            ),
            *cross_state_parts("harmonised/", harmonised_years()),
        ],
    }


def decades(wildcards):
    return year_decades()


def schema_tables():
    """The run's tables that have a data dictionary (CSV and Parquet, not the .txt)."""
    return [table for table in version_tables() if has_schema(table)]


def table_schema_files():
    return [schema_path(table) for table in schema_tables()]


def headline_files():
    return rendered_headlines(version_tables())


def headline_sources():
    """The tables the headline renderings read (indices.csv always, for the area names)."""
    wanted = {"indices.csv", *HEADLINES.values()}
    return [table for table in version_tables() if Path(table).name in wanted]
