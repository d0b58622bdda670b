"""Provenance: where every input came from, and what produced the outputs."""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Collection, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import code_files, state_year_seed
from .download import sha256_file
from .paths import download_record_path, raw_root

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


#: Fields of a download record that describe where and when a file was fetched.
DOWNLOAD_FIELDS = ("url", "urls", "responses", "retrieved_at", "last_modified", "etag")


def _download_fields(record_path: Path, sha256: str) -> dict[str, Any] | None:
    """The origin fields of a download record, if it exists and describes this content."""
    if not record_path.is_file():
        return None
    downloaded = json.loads(record_path.read_text(encoding="utf-8"))
    if downloaded.get("sha256") != sha256:
        return None
    return {key: downloaded[key] for key in DOWNLOAD_FIELDS if downloaded.get(key) is not None}


def input_record(
    layout_path: str, local_path: str | Path, *, from_mirror: bool, placed: bool = False
) -> dict[str, Any]:
    """Describe one raw input: its place in the raw layout, origin, size and hash.

    A downloaded file's record (URL, retrieval time, each response's hash, Last-Modified,
    ETag) is merged in, and must match the file on disk, or the cache was altered since.
    A mirror made from someone's raw cache may carry those records too; when one matches
    the file, it is kept as ``original_download``. A file the config gives no URL for
    (``placed``: its publisher has no stable address) is recorded as ``source: "placed"``,
    put in the raw cache by hand, with its size and hash.
    """
    local_path = Path(local_path)
    record: dict[str, Any] = {
        "layout_path": layout_path,
        "bytes": local_path.stat().st_size,
        "sha256": sha256_file(local_path),
    }
    # The file sits at <root>/<layout_path>; its download record at <root>/download-records/.
    root = raw_root(local_path, layout_path)
    origin = _download_fields(download_record_path(layout_path, root=root), record["sha256"])
    if from_mirror:
        record.update({"source": "mirror", "mirror_path": str(local_path)})
        if origin:
            record["original_download"] = origin
        return record
    if origin is None and placed:
        return {**record, "source": "placed", "local_path": str(local_path)}
    if origin is None:
        raise ValueError(
            f"{local_path}: no download record with its sha256 under {root / 'download-records'}; "
            "the raw cache was changed after download, or the file was put there by hand"
        )
    return {**record, "source": "download", **origin}


def input_records(
    raw_inputs: Mapping[str, str], *, from_mirror: bool, placed: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Records of every raw input, given as layout path -> local path; ``placed`` names the
    layout paths that have no URL to download from (see :func:`input_record`)."""
    return [
        input_record(layout_path, local_path, from_mirror=from_mirror, placed=layout_path in placed)
        for layout_path, local_path in sorted(raw_inputs.items())
    ]


def check_inputs_unchanged(provenance_path: str | Path, raw_inputs: Mapping[str, str]) -> None:
    """Refuse to reuse a results version whose outputs came from other input files.

    A version names config and code, not data; this check keeps `results/<version>/` from
    being rewritten with different numbers when a raw input changes under the same name
    (a Census revision, an edited mirror). Inputs not on disk yet are skipped.
    """
    provenance_path = Path(provenance_path)
    if not provenance_path.is_file():
        return
    recorded = {
        record["layout_path"]: record["sha256"]
        for record in json.loads(provenance_path.read_text(encoding="utf-8"))["inputs"]
    }
    for layout_path, local_path in sorted(raw_inputs.items()):
        if layout_path in recorded and Path(local_path).is_file():
            current = sha256_file(Path(local_path))
            if current != recorded[layout_path]:
                raise ValueError(
                    f"{provenance_path.parent} was made from a different {layout_path} "
                    f"(sha256 {recorded[layout_path][:12]}…, now {current[:12]}… in "
                    f"{local_path}). A results version is never rewritten with other "
                    "numbers: move that folder away to recompute it from the new input."
                )


def git_state(root: str | Path) -> dict[str, Any]:
    """The git commit of the workflow and whether its tree had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # Untracked files count: the code fingerprint includes them.
        dirty = bool(git("status", "--porcelain"))
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


def seed_record(config: Mapping[str, Any]) -> dict[str, Any]:
    """The configured seed and the stream every state-year of the run draws from."""
    seed = config["uncertainty"]["seed"]
    return {
        "uncertainty.seed": seed,
        "state_year_streams": {
            f"{state}_{year}": state_year_seed(seed, state, year)
            for state in config["states"]
            for year in config["years"]
        },
        "derivation": (
            "numpy.random.default_rng(stream): the ACS margin-of-error draws of a state-year "
            "use its stream [seed, year, state]; each area's significance test "
            "[*stream, area index, test index] (from 0); each scenario step "
            "[*stream, step number] (from 1)"
        ),
    }


def build_provenance(
    *,
    version: str,
    config: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    workflow_root: str | Path,
) -> dict[str, Any]:
    """Everything a reviewer needs to tie this results version to its inputs and code.

    ``code`` lists the sha256 of every file behind the version's code hash, so the code can
    be checked even where git is missing or the tree was dirty."""
    return {
        "results_version": version,
        "inputs": sorted(inputs, key=lambda record: record["layout_path"]),
        "config": dict(config),
        "seeds": seed_record(config),
        "code": code_files(workflow_root),
        "software": software_versions(),
        "platform": platform.platform(),
        "git": git_state(workflow_root),
    }


def write_json(payload: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


#: Folders of a results version whose files the manifest lists: everything the analysis
#: computes. Logs, benchmarks and provenance.json describe a run (times, machine, commit)
#: and differ between identical computations, so they are left out.
MANIFEST_FOLDERS = ("tables", "figures", "data")


def manifest_lines(version_dir: str | Path, folders: Iterable[str] = MANIFEST_FOLDERS) -> str:
    """``sha256sum`` lines ("<hash>  <path>", sorted by path) for every file under
    ``folders`` of a results version, paths relative to it, so that
    ``sha256sum -c MANIFEST.sha256`` run in the version folder checks every output."""
    root = Path(version_dir)
    files = sorted(
        path for folder in folders if (root / folder).is_dir()
        for path in (root / folder).rglob("*") if path.is_file()
    )  # fmt: skip
    if not files:
        raise ValueError(f"{root}: no output files under {', '.join(folders)}")
    return "".join(f"{sha256_file(path)}  {path.relative_to(root).as_posix()}\n" for path in files)


def write_manifest(version_dir: str | Path, path: str | Path) -> None:
    """Write :func:`manifest_lines` of ``version_dir`` to ``path`` (via a temporary file)."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(manifest_lines(version_dir), encoding="utf-8")
    partial.replace(target)
