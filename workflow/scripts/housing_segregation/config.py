"""Configuration validation and the run's results version."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


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


def _normalise_command_line(config: dict) -> None:
    """Accept what `--config` gives: scalars for lists (`years=2019`), years as strings
    (Snakemake reads `years=[2019,2023]` as ["2019", "2023"]) and states as numbers."""
    for key in ("states", "years", "groups"):
        if key in config and isinstance(config[key], str | int):
            config[key] = [config[key]]
    if isinstance(config.get("years"), list):
        config["years"] = [
            int(y) if isinstance(y, str) and y.strip().isdigit() else y for y in config["years"]
        ]
    if isinstance(config.get("states"), list):
        config["states"] = [
            f"{s:02d}" if isinstance(s, int) and not isinstance(s, bool) else s
            for s in config["states"]
        ]


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
        error = jsonschema.exceptions.best_match(errors)
        hint = _allowed(error)
        message = f"config key '{_key_path(error)}': {error.message}"
        raise ConfigError(f"{message}; {hint}" if hint else message)
    if resolved["reference_group"] in resolved["groups"]:
        raise ConfigError(
            f"config key 'groups': contains the reference group "
            f"{resolved['reference_group']!r}; a group cannot be measured against itself"
        )
    resolved["years"] = sorted(resolved["years"])
    resolved["states"] = sorted(resolved["states"])
    return resolved


def boundary_vintage(config: Mapping[str, Any], year: int, layer: str) -> int:
    """Boundary-file vintage for an ACS year and a layer ("tract" or "cousub")."""
    vintages = config.get("boundary_vintages", {}).get(str(year))
    return int(vintages[layer]) if vintages else int(year)


def tract_crosswalk_for(config: Mapping[str, Any], state: str, year: int) -> dict | None:
    """The tract GEOID crosswalk spec that applies to a state and ACS year, if any."""
    spec = config.get("tract_geoid_crosswalks", {}).get(state)
    if spec is None:
        return None
    applies = (
        year >= spec["first_acs_year"]
        and boundary_vintage(config, year, "tract") < spec["first_acs_year"]
    )
    return dict(spec) if applies else None


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:8]


def config_fingerprint(config: Mapping[str, Any]) -> str:
    """Hash of the analysis settings. The mirror's location is not analysis, only its use."""
    hashed = {key: value for key, value in config.items() if key != "mirror"}
    hashed["input_source"] = "mirror" if config.get("mirror") else "download"
    return _digest(json.dumps(hashed, sort_keys=True, default=str).encode())


#: Files that make up the workflow's code, for its fingerprint (no caches or build debris).
CODE_SUFFIXES = frozenset({".py", ".smk", ".yaml", ".yml", ".json", ".rst", ".md"})
CODE_NAMES = frozenset({"Snakefile"})


def code_fingerprint(root: str | Path, paths: Iterable[str]) -> str:
    """Hash of every source file under ``paths`` (relative to ``root``), in sorted order."""
    root = Path(root)
    digest = hashlib.sha256()
    files: list[Path] = []
    for entry in paths:
        target = root / entry
        files.extend(target.rglob("*") if target.is_dir() else [target])
    for path in sorted(f for f in files if f.is_file()):
        if path.suffix not in CODE_SUFFIXES and path.name not in CODE_NAMES:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:8]


def results_version(config: Mapping[str, Any], code_hash: str) -> str:
    """Version string naming the data vintage and the hashes of config and code.

    For example ``acs2019+2023_cfg1a2b3c4d_code5e6f7a8b``.
    """
    # "+" rather than "-": "acs2019-2023" would read as the 2019-2023 5-year estimates.
    vintage = "acs" + "+".join(str(year) for year in sorted(int(y) for y in config["years"]))
    return f"{vintage}_cfg{config_fingerprint(config)}_code{code_hash}"
