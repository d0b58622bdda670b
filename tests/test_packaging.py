"""The pip install and the conda environments name the same pinned packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pip_pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", requirement.strip())
        assert match, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _conda_pins(path: Path) -> dict[str, str]:
    pins = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if not isinstance(entry, str) or entry.split("=")[0] in {"python", "pip"}:
            continue
        name, _, version = entry.partition("=")
        assert version, f"{path.name}: {entry!r} is not pinned"
        pins[name.lower()] = version
    return pins


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = _pip_pins(project["dependencies"]) | _pip_pins(project["optional-dependencies"]["dev"])
    assert _conda_pins(ROOT / "environment.yml") == pip


def test_rule_environment_matches_pyproject_runtime():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pip_pins(project["dependencies"])
    assert _conda_pins(ROOT / "workflow" / "envs" / "pipeline.yaml") == runtime


def test_lock_file_agrees_with_direct_pins():
    """The constraints file used by `make` must not contradict a direct pin."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pip_pins(project["dependencies"]) | _pip_pins(project["optional-dependencies"]["dev"])
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[name.lower().replace("_", "-")] = version
    assert {name: locked.get(name) for name in pins} == pins
