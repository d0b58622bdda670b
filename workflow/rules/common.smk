# Shared set-up, paths and input functions. No rules here.

import sys
from pathlib import Path

# The library lives in workflow/scripts so that scripts import it under any deployment.
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from housing_segregation import paths
from housing_segregation.acs import api_variables
from housing_segregation.paths import point_latest_at
from housing_segregation.provenance import check_inputs_unchanged
from housing_segregation.config import (
    boundary_vintage,
    cbsa_delineation_vintage,
    code_fingerprint,
    load_schema,
    results_version,
    tract_crosswalk_for,
    validate_config,
)

WORKFLOW_ROOT = Path(workflow.basedir)

_validated = validate_config(
    config, load_schema(WORKFLOW_ROOT / "workflow" / "schemas" / "config.schema.yaml")
)
config.clear()
config.update(_validated)

MIRROR = config["mirror"]
VERSION = results_version(config, code_fingerprint(WORKFLOW_ROOT))
RESULTS = f"results/{VERSION}"
RAW = str(paths.RAW_CACHE)


wildcard_constraints:
    year=r"\d{4}",
    vintage=r"\d{4}",
    state=r"\d{2}",
    layer="tract|cousub",


def state_years():
    """Every (state, year) pair the run covers."""
    return [(state, year) for year in config["years"] for state in config["states"]]


def measurement_threads(wildcards):
    """The cores shared among the state-year measurement jobs: with several jobs each gets
    one and they run side by side; a single job gets them all for its simulations."""
    cores = workflow.cores if isinstance(workflow.cores, int) else 1
    return max(1, cores // len(state_years()))


def raw_input(layout_candidates):
    """A raw input's path: in the mirror if one is set, else in the download cache.

    The first candidate is the cache's form (what the downloader writes)."""
    if MIRROR:
        return paths.mirror_file(MIRROR, layout_candidates)
    return f"{RAW}/{layout_candidates[0]}"


def acs_file(state, year):
    return raw_input([paths.acs_layout(year, state)])


def boundary_file(state, year, layer):
    vintage = boundary_vintage(config, int(year), layer)
    return raw_input(
        [
            paths.boundary_layout(vintage, state, layer, ext)
            for ext in ("zip", "geojson")
        ]
    )


def crosswalk_spec(wildcards):
    return tract_crosswalk_for(config, wildcards.state, int(wildcards.year))


def tract_inputs(state, year):
    """Raw inputs of the normalisation of one state-year."""
    inputs = {
        "acs": acs_file(state, year),
        "tract_boundaries": boundary_file(state, year, "tract"),
        "town_boundaries": boundary_file(state, year, "cousub"),
    }
    spec = tract_crosswalk_for(config, state, int(year))
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
    return tract_inputs(wildcards.state, wildcards.year)


def raw_inputs_used():
    """Layout path -> local path of every raw input of the run."""
    used = {}
    for state, year in state_years():
        for local_path in tract_inputs(state, year).values():
            used[layout_path_of(local_path)] = local_path
    return dict(sorted(used.items()))


def layout_path_of(local_path):
    root = Path(MIRROR) if MIRROR else Path(RAW)
    return Path(local_path).relative_to(root).as_posix()


def download_records_used():
    if MIRROR:
        return []
    return [str(paths.download_record_path(p)) for p in raw_inputs_used()]


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


def run_states(wildcards):
    return config["states"]


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
    """The API variables, as a param so that changing the list downloads the tables again."""
    return api_variables()


def focal_groups(wildcards):
    return config["groups"]


def reference_group(wildcards):
    return config["reference_group"]


def unit_level(wildcards):
    return config["unit_level"]


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


check_inputs_unchanged(f"{RESULTS}/provenance.json", raw_inputs_used())


def final_outputs():
    outputs = [f"{RESULTS}/tables/indices.csv", f"{RESULTS}/provenance.json"]
    for state, year in state_years():
        outputs.append(f"{RESULTS}/figures/nonwhite_share_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/dissimilarity_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/recaps_{state}_{year}.png")
        outputs.append(f"{RESULTS}/figures/multiscalar_profile_{state}_{year}.png")
    return outputs
