"""Where raw inputs live: one place for the raw-input layout shared by caches and mirrors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .units import TRACT, UnitLevel

#: The raw download cache, in the same layout as any mirror.
RAW_CACHE = Path("resources")


def acs_layout(year: int | str, state: str, unit: UnitLevel | str = TRACT) -> str:
    """The Census API table of a state's tracts (or block groups: ``..._block_group_...``);
    ``unit`` a unit level or its name (or a wildcard, in a rule)."""
    name = unit if isinstance(unit, str) else unit.name
    return f"census-api/acs5_{year}_{name}_state{state}.json"


def boundary_layout(vintage: int | str, state: str, layer: str, extension: str = "zip") -> str:
    return f"boundaries/cb_{vintage}_{state}_{layer}_500k.{extension}"


def delineation_layout(vintage: int | str, state: str) -> str:
    return f"delineations/cbsa_{vintage}_state{state}.csv"


def download_record_path(layout_path: str, root: str | Path = RAW_CACHE) -> Path:
    """Where the download record of a raw input lives, under a raw cache or mirror root."""
    return Path(root) / "download-records" / f"{layout_path}.json"


def raw_root(local_path: str | Path, layout_path: str) -> Path:
    """The raw cache or mirror a raw input belongs to: ``local_path`` is
    ``<root>/<layout_path>``."""
    local = Path(local_path).as_posix()
    if not local.endswith(layout_path):
        raise ValueError(f"{local_path} is not at {layout_path} in a raw-input layout")
    return Path(local[: -len(layout_path)] or ".")


def mirror_file(mirror: str | Path, candidates: list[str]) -> str:
    """The first of ``candidates`` (layout paths) present in the mirror, as a path.

    Raises FileNotFoundError naming the mirror and every path looked for.
    """
    for layout_path in candidates:
        path = Path(mirror) / layout_path
        if path.is_file():
            return str(path)
    looked = ", ".join(candidates)
    raise FileNotFoundError(f"mirror {mirror} has none of: {looked}")


def point_latest_at(
    version: str, required: Iterable[str], results_root: str | Path = "results"
) -> bool:
    """Point ``results/latest`` at ``results/<version>`` (a relative symlink, replaced
    atomically), but only once every ``required`` output of that version exists, so a
    partial run (``--until``, a pre-fetch of inputs) never becomes "latest"."""
    root = Path(results_root)
    if not all(Path(path).exists() for path in required):
        return False
    staging = root / f".latest.{version}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(version, target_is_directory=True)
    staging.replace(root / "latest")
    return True
