"""Shared test set-up: the library on sys.path, the real shared data, and the Connecticut
tract tables built from it as the pipeline builds them."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from housing_segregation.config import load_schema, validate_config  # noqa: E402
from housing_segregation.tracts import build_unit_table_from_layout  # noqa: E402

#: Real Connecticut and Sacramento data, read in place (never copied into the repository).
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it ships beside the repo in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pipeline_config() -> dict:
    """config/config.yaml, validated, as the pipeline runs it."""
    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return validate_config(raw, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"))


@pytest.fixture(scope="session")
def ct_tracts_2023(shared_data, pipeline_config):
    """Connecticut 2023 tracts (879, EPSG:5070) with towns, CBSAs and planning regions.
    Tests must not modify it: copy first."""
    return build_unit_table_from_layout(shared_data, pipeline_config, state="09", year=2023)


@pytest.fixture(scope="session")
def ct_tracts_2019(shared_data, pipeline_config):
    """Connecticut 2019 tracts (829, 2010 geography). Tests must not modify it."""
    return build_unit_table_from_layout(shared_data, pipeline_config, state="09", year=2019)
