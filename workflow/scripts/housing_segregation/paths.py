"""Where raw inputs live: one place for the raw-input layout shared by caches and mirrors."""

from __future__ import annotations

from pathlib import Path

#: The raw download cache, in the same layout as any mirror.
RAW_CACHE = Path("resources")
#: Download records (URL, hash, headers) of files in the raw cache, mirroring its layout.
DOWNLOAD_RECORDS = RAW_CACHE / "download-records"


def acs_layout(year: int | str, state: str) -> str:
    return f"census-api/acs5_{year}_tract_state{state}.json"


def boundary_layout(vintage: int | str, state: str, layer: str, extension: str = "zip") -> str:
    return f"boundaries/cb_{vintage}_{state}_{layer}_500k.{extension}"


def download_record_path(layout_path: str) -> Path:
    return DOWNLOAD_RECORDS / f"{layout_path}.json"


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


def point_latest_at(version: str, results_root: str | Path = "results") -> None:
    """Make ``results/latest`` a relative symlink to ``results/<version>``, atomically."""
    root = Path(results_root)
    if not (root / version).is_dir():
        raise FileNotFoundError(f"{root / version} does not exist")
    staging = root / f".latest.{version}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(version, target_is_directory=True)
    staging.replace(root / "latest")
