"""Configuration validation and the run's results version."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pyproj
import yaml

from . import vintages
from .regions import ALL_STATES


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


def _with_defaults(validator_class: type) -> type:
    """Extend a jsonschema validator so validation also fills in schema defaults."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "enum":
        return "allowed values: " + ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "additionalProperties":
        return "allowed keys: " + ", ".join(sorted(schema.get("properties", {})))
    bounds = []
    for word, label in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("exclusiveMinimum", ">"),
        ("pattern", "matching"),
    ):
        if word in schema:
            bounds.append(f"{label} {schema[word]}")
    if "type" in schema:
        bounds.insert(0, f"type {schema['type']}")
    return "allowed: " + ", ".join(bounds) if bounds else ""


def load_schema(schema_path: str | Path) -> dict:
    with open(schema_path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _state_code(value: object) -> object:
    """9, "9" and "09" all mean Connecticut; anything else is left for the schema to judge."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:02d}"
    if isinstance(value, str) and value.isdigit() and len(value) == 1:
        return f"0{value}"
    return value


def _deepest_alternative(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a value that fits none of a key's alternatives (``states``: a list, or "all"),
    the error deepest in the value: ``states.0`` rather than "not valid under any"."""
    while error.validator == "anyOf" and error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def _normalise_command_line(config: dict) -> None:
    """Accept what `--config` gives: scalars for lists (`years=2019`), years as strings
    (Snakemake reads `years=[2019,2023]` as ["2019", "2023"]), states as numbers and the
    numbers of nested settings as text (:data:`COMMAND_LINE_NUMBERS`). ``states: all``
    becomes the list :data:`~housing_segregation.regions.ALL_STATES` (50 states and DC)."""
    if config.get("states") in ("all", ["all"]):
        config["states"] = list(ALL_STATES)
    for key in ("states", "years", "groups"):
        if key in config and isinstance(config[key], str | int):
            config[key] = [config[key]]
    if isinstance(config.get("years"), list):
        config["years"] = [
            int(y) if isinstance(y, str) and y.strip().isdigit() else y for y in config["years"]
        ]
    if isinstance(config.get("states"), list):
        config["states"] = [_state_code(s) for s in config["states"]]
    # `cbsa_other_states=false` arrives as text.
    flag = config.get("cbsa_other_states")
    if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
        config["cbsa_other_states"] = flag.strip().lower() == "true"
    # Nested settings such as `scenarios={draws: 200}` arrive with their numbers as text.
    for (section, key), kind in COMMAND_LINE_NUMBERS.items():
        settings = config.get(section)
        if isinstance(settings, dict) and isinstance(settings.get(key), str):
            # Text that is no number stays text: the schema then names the key.
            with contextlib.suppress(ValueError):
                settings[key] = kind(settings[key])


#: Numeric settings inside sections that `--config section={key: value}` may set.
COMMAND_LINE_NUMBERS = {
    ("uncertainty", "draws"): int,
    ("uncertainty", "level"): float,
    ("uncertainty", "seed"): int,
    ("inference", "bias_correction_draws"): int,
    ("inference", "permutations"): int,
    ("scenarios", "draws"): int,
    ("scenarios", "sweep_draws"): int,
}


def validate_config(config: Mapping[str, Any], schema: dict) -> dict:
    """Return a validated copy of ``config`` with defaults filled in.

    Raises ConfigError naming the first offending key and the allowed values.
    """
    resolved = copy.deepcopy(dict(config))
    _normalise_command_line(resolved)
    validator_class = _with_defaults(jsonschema.validators.validator_for(schema))
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(resolved), key=lambda e: list(e.absolute_path))
    if errors:
        error = _deepest_alternative(jsonschema.exceptions.best_match(errors))
        hint = _allowed(error)
        message = f"config key '{_key_path(error)}': {error.message}"
        raise ConfigError(f"{message}; {hint}" if hint else message)
    if resolved["reference_group"] in resolved["groups"]:
        raise ConfigError(
            f"config key 'groups': contains the reference group "
            f"{resolved['reference_group']!r}; a group cannot be measured against itself"
        )
    _check_projected_metres(resolved["crs"])
    _check_boundary_decades(resolved)
    _check_unit_tables(resolved)
    for state, lists in resolved["subsidized"]["town_lists"].items():
        if str(lists["map_year"]) not in lists["files"]:
            raise ConfigError(
                f"config key 'subsidized.town_lists.{state}.map_year': {lists['map_year']} "
                f"is not one of the list years; allowed: {', '.join(sorted(lists['files']))}"
            )
    resolved["years"] = sorted(resolved["years"])
    resolved["states"] = sorted(resolved["states"])
    return resolved


def _validated(document: Mapping[str, Any], schema: dict, what: str) -> dict:
    resolved = copy.deepcopy(dict(document))
    validator = _with_defaults(jsonschema.validators.validator_for(schema))(schema)
    errors = sorted(validator.iter_errors(resolved), key=lambda e: list(e.absolute_path))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        hint = _allowed(error)
        message = f"{what} key '{_key_path(error)}': {error.message}"
        raise ConfigError(f"{message}; {hint}" if hint else message)
    return resolved


def validate_scenarios(document: Mapping[str, Any] | None, schema: dict, source: str) -> dict:
    """A validated copy of a scenarios file, every step's defaults filled in.

    Sweeps must name a defined scenario, one of its steps and a parameter that step has.
    Errors name ``source`` and the key."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"{source}: expected a mapping with a 'scenarios' key")
    resolved = _validated(document, schema, source)
    for position, sweep in enumerate(resolved["sweeps"]):
        where = f"{source} key 'sweeps.{position}'"
        steps = resolved["scenarios"].get(sweep["scenario"], {}).get("steps")
        if steps is None:
            raise ConfigError(f"{where}: scenario {sweep['scenario']!r} is not defined; "
                              f"defined: {', '.join(resolved['scenarios'])}")  # fmt: skip
        if sweep["step"] > len(steps):
            raise ConfigError(f"{where}: scenario {sweep['scenario']!r} has {len(steps)} step(s), "
                              f"not {sweep['step']}")  # fmt: skip
        step = steps[sweep["step"] - 1]
        if sweep["parameter"] == "step" or not isinstance(
            step.get(sweep["parameter"]), int | float
        ):
            numeric = sorted(
                k for k, v in step.items() if isinstance(v, int | float) and k != "step"
            )
            raise ConfigError(f"{where}: {step['step']} has no numeric parameter "
                              f"{sweep['parameter']!r}; it has {', '.join(numeric)}")  # fmt: skip
    names = [sweep["name"] for sweep in resolved["sweeps"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source} key 'sweeps': sweep names repeat: {names}")
    # Tables and figures list scenarios in file order. A mapping's order is lost where keys
    # are sorted (provenance.json), so the order is kept as a list, which the version
    # hash sees: reordering the file makes another version.
    resolved["order"] = list(resolved["scenarios"])
    return resolved


def _check_projected_metres(crs: str) -> None:
    """Areas, overlays and maps need a projected CRS in metres, not degrees or feet."""
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as error:
        raise ConfigError(f"config key 'crs': {crs!r} is not a known CRS ({error})") from error
    units = {axis.unit_name for axis in parsed.axis_info}
    if not parsed.is_projected or units != {"metre"}:
        raise ConfigError(
            f"config key 'crs': {crs!r} ({parsed.name}) is not a projected CRS in metres; "
            "allowed: a projected EPSG code with metre units, e.g. EPSG:5070"
        )


def boundary_vintage(config: Mapping[str, Any], year: int, layer: str) -> int:
    """Boundary-file vintage for an ACS year and a layer ("tract", "bg" or "cousub").

    ``boundary_vintages`` decides (block groups take the tract vintage unless it names
    one); an unlisted year uses the vintage table's default (:func:`vintages.vintage`): its
    own year, or 2014 (the first vintage in today's layout, still 2010 tracts) for the ACS
    years 2010-2013."""
    override = config.get("boundary_vintages", {}).get(str(year))
    if override:
        return int(override.get(layer, override["tract"]))
    return vintages.vintage(year).boundary_vintage


def cbsa_delineation_vintage(config: Mapping[str, Any], year: int) -> int:
    """The CBSA delineation vintage used for an ACS year."""
    return int(config["cbsa_delineations"].get(str(year), config["cbsa_delineation_default"]))


def tract_crosswalk_for(
    config: Mapping[str, Any], state: str, year: int, layer: str = "tract"
) -> dict | None:
    """The tract GEOID crosswalk spec that applies to a state and ACS year, if any, for the
    boundary ``layer`` read ("tract", or "bg" whose GEOIDs start with their tract's)."""
    spec = config.get("tract_geoid_crosswalks", {}).get(state)
    if spec is None:
        return None
    # The config names the first year of new GEOIDs; the vintage table says when a state's
    # county equivalents changed (Connecticut's planning regions from 2022), for a spec
    # that leaves it out.
    first = spec.get("first_acs_year") or vintages.first_year_with(state, "planning_regions")
    if first is None:
        return None
    applies = year >= first and boundary_vintage(config, year, layer) < first
    return dict(spec) if applies else None


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:8]


#: Settings that say how inputs are fetched, not what is computed: kept out of the version.
TRANSPORT_KEYS = frozenset({"mirror", "download"})


def config_fingerprint(config: Mapping[str, Any]) -> str:
    """Hash of the analysis settings. Where and how inputs are fetched is not analysis;
    only whether a mirror is used is recorded."""
    hashed = {key: value for key, value in config.items() if key not in TRANSPORT_KEYS}
    hashed["input_source"] = "mirror" if config.get("mirror") else "download"
    scenarios = hashed.get("scenarios")
    if isinstance(scenarios, Mapping) and "resolved" in scenarios:
        # The scenarios' content is hashed; the file they were read from is not analysis.
        hashed["scenarios"] = {key: v for key, v in scenarios.items() if key != "file"}
    return _digest(json.dumps(hashed, sort_keys=True, default=str).encode())


#: Files that make up the workflow's code, for its fingerprint (no caches or build debris).
CODE_SUFFIXES = frozenset({".py", ".smk", ".yaml", ".yml", ".json", ".rst", ".md"})
CODE_NAMES = frozenset({"Snakefile", "requirements.lock", "pyproject.toml", "environment.yml"})
#: What the code fingerprint covers: the workflow and the pinned software it runs with.
CODE_PATHS = ("Snakefile", "workflow", "pyproject.toml", "requirements.lock", "environment.yml")


def code_files(root: str | Path, paths: Iterable[str] = CODE_PATHS) -> dict[str, str]:
    """sha256 of every code file under ``paths`` (relative to ``root``), by relative path."""
    root = Path(root)
    files: list[Path] = []
    for entry in paths:
        target = root / entry
        files.extend(target.rglob("*") if target.is_dir() else [target])
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(f for f in files if f.is_file())
        if path.suffix in CODE_SUFFIXES or path.name in CODE_NAMES
    }


def code_fingerprint(root: str | Path, paths: Iterable[str] = CODE_PATHS) -> str:
    """Short hash over the code files' paths and contents (see ``code_files``)."""
    listing = "".join(f"{path}\0{digest}\n" for path, digest in code_files(root, paths).items())
    return _digest(listing.encode())


def tract_decade(config: Mapping[str, Any], year: int) -> int:
    """The census whose tracts an ACS year's tables use (the vintage table: 2010 up to the
    2019 end year, 2020 from 2020). The year's tract boundary vintage must be of the same
    census (checked by :func:`validate_config`)."""
    return vintages.vintage(int(year)).tract_decade


def _check_boundary_decades(config: Mapping[str, Any]) -> None:
    """A year's tract boundaries must be drawn on the census its tables use: 2010 tracts
    cannot carry a 2020-tract table, nor the reverse."""
    for year in config["years"]:
        tract_vintage = boundary_vintage(config, year, "tract")
        expected = vintages.vintage(year).tract_decade
        found = vintages.vintage(max(tract_vintage, vintages.first_year())).tract_decade
        if found != expected:
            raise ConfigError(
                f"config key 'boundary_vintages.{year}.tract': vintage {tract_vintage} has "
                f"{found} tracts, but the ACS {year} tables use {expected} tracts"
            )


def _check_unit_tables(config: Mapping[str, Any]) -> None:
    """Every year's release publishes the tables for the configured ``unit_level`` (block
    groups only from the API's 2013 release on)."""
    unit = config["unit_level"]
    for year in config["years"]:
        if not vintages.vintage(year).tables_for(unit):
            raise ConfigError(
                f"config key 'unit_level': {unit} tables are not in the Census Data API for "
                f"ACS {year} (acs_vintages.yaml); use unit_level: tract for that year"
            )


def state_year_seed(seed: int, state: str, year: int | str) -> list[int]:
    """The random stream of one state-year, ``[seed, year, state]``: its own, reproducible
    whatever order jobs run in; the indices and the scenarios' baseline share it."""
    return [int(seed), int(year), int(state)]


def results_version(config: Mapping[str, Any], code_hash: str) -> str:
    """Version string naming the data vintage and the hashes of config and code.

    For example ``acs2019+2023_cfg1a2b3c4d_code5e6f7a8b``.
    """
    # "+" rather than "-": "acs2019-2023" would read as the 2019-2023 5-year estimates.
    vintage = "acs" + "+".join(str(year) for year in sorted(int(y) for y in config["years"]))
    return f"{vintage}_cfg{config_fingerprint(config)}_code{code_hash}"
