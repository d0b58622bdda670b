"""Provenance: where every input came from, and what produced the outputs."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

#: Packages whose versions are recorded (the project's direct dependencies).
RECORDED_PACKAGES = (
    "geopandas",
    "jsonschema",
    "libpysal",
    "mapclassify",
    "matplotlib",
    "numpy",
    "pandas",
    "pyarrow",
    "pyogrio",
    "pyproj",
    "PyYAML",
    "requests",
    "scipy",
    "segregation",
    "shapely",
    "snakemake",
)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_record(
    layout_path: str,
    local_path: str | Path,
    *,
    from_mirror: bool,
    download_record: Path | None,
) -> dict[str, Any]:
    """Describe one raw input: its place in the raw layout, origin, size and hash.

    A downloaded file's record (URL, retrieval time, Last-Modified, ETag) is merged in;
    its hash must still match the file on disk, or the cache was altered since.
    """
    local_path = Path(local_path)
    record: dict[str, Any] = {
        "layout_path": layout_path,
        "bytes": local_path.stat().st_size,
        "sha256": sha256_of(local_path),
    }
    if from_mirror:
        record.update({"source": "mirror", "mirror_path": str(local_path)})
        return record
    if download_record is None:
        raise ValueError(f"{local_path}: no download record; was the file put there by hand?")
    downloaded = json.loads(Path(download_record).read_text(encoding="utf-8"))
    if downloaded.get("sha256") != record["sha256"]:
        raise ValueError(
            f"{local_path}: sha256 differs from its download record {download_record}; "
            "the raw cache was changed after download"
        )
    record["source"] = "download"
    for key in ("url", "urls", "retrieved_at", "last_modified", "etag", "http_status"):
        if downloaded.get(key) is not None:
            record[key] = downloaded[key]
    return record


def git_state(root: str | Path) -> dict[str, Any]:
    """The git commit of the workflow and whether its tree had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "note": "not a git checkout"}
    return {"commit": commit, "dirty": dirty}


def software_versions(packages: Iterable[str] = RECORDED_PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_provenance(
    *,
    version: str,
    config: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    workflow_root: str | Path,
) -> dict[str, Any]:
    return {
        "results_version": version,
        "inputs": sorted(inputs, key=lambda record: record["layout_path"]),
        "config": dict(config),
        "software": software_versions(),
        "platform": platform.platform(),
        "git": git_state(workflow_root),
    }


def write_json(payload: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
