"""A reviewer's audit of a results version, and the frozen archive it can run from.

``check`` proves, from a version's own records, that its outputs follow from its inputs:

1. every output file here matches ``MANIFEST.sha256``;
2. every raw input matches the bytes and sha256 in ``provenance.json``;
3. the workflow's code matches the hashes recorded there (other code makes another version);
4. the pipeline, re-run from those inputs with the recorded config into a scratch folder,
   reproduces every file of the manifest byte for byte.

Each file gets a PASS or FAIL line; any FAIL makes the audit fail. The rerun is skipped when
an input or the code differs, because it could not reproduce the version.

``freeze`` packs what a rerun needs besides the code (the raw inputs with their download
records, the lock files, ``provenance.json`` and ``MANIFEST.sha256``) into one archive, so a
reviewer can audit on a machine with no network: ``check --frozen <archive>``. The archive is
deterministic: the same version always packs to the same bytes.

Run as ``python -m housing_segregation.audit {check,freeze} VERSION``; ``make audit`` and
``make freeze`` wrap it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .config import code_files
from .download import sha256_file
from .paths import RAW_CACHE, download_record_path, raw_root
from .provenance import MANIFEST_FOLDERS, manifest_lines, software_versions

#: The workflow checkout this library belongs to (workflow/scripts/housing_segregation/).
WORKFLOW_ROOT = Path(__file__).resolve().parents[3]
MANIFEST = "MANIFEST.sha256"
PROVENANCE = "provenance.json"
#: Files that pin the software environment; the code hashes in provenance.json cover them.
LOCK_FILES = ("requirements.lock", "environment.yml", "pyproject.toml")
#: Where ``freeze`` writes archives, and ``check`` reruns, under the working directory.
FROZEN_DIR = Path("frozen")
SCRATCH_DIR = Path(".audit")


@dataclasses.dataclass(frozen=True)
class Finding:
    """The verdict on one file (or one aspect) of a version."""

    kind: str  # "output", "input", "code", "software" or "rerun"
    path: str
    ok: bool
    detail: str = ""
    #: A difference worth reading that does not by itself fail the audit.
    warning: bool = False

    def line(self) -> str:
        verdict = "WARN" if self.warning else ("PASS" if self.ok else "FAIL")
        detail = f": {self.detail}" if self.detail else ""
        return f"{verdict}  {self.kind:<8}  {self.path}{detail}"


def read_manifest(text: str, source: str = MANIFEST) -> dict[str, str]:
    """Relative path -> sha256 from ``sha256sum`` lines; malformed lines are errors naming
    the line."""
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        digest, separator, path = line.partition("  ")
        if not separator or len(digest) != 64 or not path:
            raise ValueError(f"{source} line {number}: not '<sha256>  <path>': {line!r}")
        entries[path] = digest
    return entries


def _short(digest: str) -> str:
    return digest[:12] + "…"


def compare_to_manifest(
    manifest: Mapping[str, str], found: Mapping[str, str], *, what: str
) -> dict[str, str]:
    """Path -> problem (empty where none) of each file of ``manifest`` and ``found`` (path ->
    sha256 of the files present), ``what`` naming the files checked ("here", "rerun")."""
    problems = {}
    for path in sorted(set(manifest) | set(found)):
        if path not in found:
            problems[path] = f"missing {what}"
        elif path not in manifest:
            problems[path] = f"{what}, not in {MANIFEST}"
        elif found[path] != manifest[path]:
            problems[path] = (
                f"{what} differs from {MANIFEST} "
                f"(listed {_short(manifest[path])}, found {_short(found[path])})"
            )
        else:
            problems[path] = ""
    return problems


def file_digests(version_dir: Path, folders: Iterable[str] = MANIFEST_FOLDERS) -> dict[str, str]:
    """Relative path -> sha256 of the files a manifest covers in ``version_dir``."""
    if not any((version_dir / folder).is_dir() for folder in folders):
        return {}
    return read_manifest(manifest_lines(version_dir, folders), str(version_dir))


def output_findings(
    manifest: Mapping[str, str],
    here: Mapping[str, str] | None,
    rerun: Mapping[str, str] | None,
) -> list[Finding]:
    """One finding per output file: the copy here (``None``: none to check) and the rerun
    (``None``: not run) must both match the manifest."""
    checks = []
    if here is not None:
        checks.append(compare_to_manifest(manifest, here, what="here"))
    if rerun is not None:
        checks.append(compare_to_manifest(manifest, rerun, what="rerun"))
    paths = sorted({path for problems in checks for path in problems} | set(manifest))
    findings = []
    for path in paths:
        problems = [problems.get(path, "") for problems in checks]
        problems = [problem for problem in problems if problem]
        findings.append(Finding("output", path, not problems, "; ".join(problems)))
    return findings


def input_location(record: Mapping[str, Any], *, inputs_dir: Path | None, workdir: Path) -> Path:
    """Where to find one recorded raw input: under ``inputs_dir`` if given (a frozen archive,
    a copied cache), else where the run read it (its mirror path or the raw cache)."""
    if inputs_dir is not None:
        return inputs_dir / record["layout_path"]
    if record.get("source") == "mirror":
        # A relative mirror path is relative to the directory the run was started in.
        return workdir / record["mirror_path"]
    return workdir / RAW_CACHE / record["layout_path"]


def input_findings(
    records: Sequence[Mapping[str, Any]], *, inputs_dir: Path | None, workdir: Path
) -> list[Finding]:
    findings = []
    for record in records:
        path = input_location(record, inputs_dir=inputs_dir, workdir=workdir)
        if not path.is_file():
            findings.append(Finding("input", record["layout_path"], False, f"{path} not found"))
            continue
        size, digest = path.stat().st_size, sha256_file(path)
        if digest != record["sha256"]:
            detail = (
                f"{path} differs from provenance.json (recorded {_short(record['sha256'])} "
                f"{record['bytes']} bytes, found {_short(digest)} {size} bytes)"
            )
            findings.append(Finding("input", record["layout_path"], False, detail))
        else:
            findings.append(Finding("input", record["layout_path"], True))
    return findings


def code_findings(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[Finding]:
    """A finding per code file that differs, is missing or is new; one PASS if none does."""
    findings = []
    for path in sorted(set(recorded) | set(current)):
        if path not in current:
            findings.append(Finding("code", path, False, "recorded, missing from this checkout"))
        elif path not in recorded:
            findings.append(Finding("code", path, False, "in this checkout, not recorded"))
        elif recorded[path] != current[path]:
            findings.append(Finding("code", path, False, "differs from the recorded hash"))
    if not findings:
        findings.append(Finding("code", "workflow", True, f"{len(recorded)} files match"))
    return findings


def software_findings(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[Finding]:
    """Warnings for package versions that differ from the run's: a hint where a rerun
    differs, not a failure (the lock file, which the code hashes cover, is the pin)."""
    return [
        Finding(
            "software",
            name,
            True,
            f"{recorded[name]} recorded, {current.get(name)} here",
            warning=True,
        )
        for name in sorted(recorded)
        if current.get(name) != recorded[name]
    ]


def rerun_config(
    provenance: Mapping[str, Any], *, mirror: Path | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config file and scenarios file that reproduce a version's config.

    The recorded config is the validated one, so it validates to itself; its resolved
    scenarios become the scenarios file. ``mirror`` replaces the recorded mirror path (where
    inputs are read is not part of the version)."""
    config = json.loads(json.dumps(provenance["config"]))
    resolved = config["scenarios"].pop("resolved")
    # In the recorded order (provenance.json sorts mapping keys); validation re-derives it.
    scenarios = {
        "scenarios": {name: resolved["scenarios"][name] for name in resolved["order"]},
        "sweeps": resolved["sweeps"],
    }
    config["scenarios"]["file"] = "config/scenarios.yaml"
    if config.get("mirror") and mirror is not None:
        config["mirror"] = str(mirror)
    return config, scenarios


def prepare_scratch(
    scratch: Path,
    provenance: Mapping[str, Any],
    *,
    inputs_dir: Path | None,
    workdir: Path,
) -> None:
    """Set up ``scratch`` as a working directory that reruns the version: its config files,
    and, for a version made from downloads, a raw cache holding the recorded inputs and their
    download records (so nothing is fetched and the provenance can be rebuilt)."""
    mirror = provenance["config"].get("mirror")
    if mirror:
        mirror = (inputs_dir if inputs_dir is not None else workdir / mirror).resolve()
    config, scenarios = rerun_config(provenance, mirror=mirror)
    (scratch / "config").mkdir(parents=True, exist_ok=True)
    for name, document in (("config.yaml", config), ("scenarios.yaml", scenarios)):
        (scratch / "config" / name).write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
    if mirror:
        return
    source_root = inputs_dir if inputs_dir is not None else workdir / RAW_CACHE
    for record in provenance["inputs"]:
        layout_path = record["layout_path"]
        wanted = [(source_root / layout_path, scratch / RAW_CACHE / layout_path)]
        if record.get("source") == "download":
            wanted.append(
                (
                    download_record_path(layout_path, source_root),
                    download_record_path(layout_path, scratch / RAW_CACHE),
                )
            )
        for source, target in wanted:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def rerun(scratch: Path, *, cores: str, workflow_root: Path, log: Path) -> int:
    """Run the workflow in ``scratch``; Snakemake's output goes to ``log``."""
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(workflow_root / "Snakefile"),
                "--directory",
                str(scratch),
                "--cores",
                cores,
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode


@dataclasses.dataclass(frozen=True)
class Release:
    """What an audit checks against: a version's records, and its outputs if present."""

    version: str
    provenance: dict[str, Any]
    manifest: dict[str, str]
    #: The version's folder with its outputs, or None (a frozen archive alone).
    outputs_dir: Path | None
    #: Where the raw inputs are, or None for where the run read them.
    inputs_dir: Path | None
    #: The folder provenance.json and MANIFEST.sha256 were read from.
    records_dir: Path


def _read_records(folder: Path, version: str) -> tuple[dict[str, Any], dict[str, str]]:
    for name in (PROVENANCE, MANIFEST):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} not found: is {version} a finished version?")
    provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    if provenance.get("results_version") != version:
        raise ValueError(
            f"{folder / PROVENANCE} is of version {provenance.get('results_version')!r}, "
            f"not {version!r}"
        )
    manifest = read_manifest(
        (folder / MANIFEST).read_text(encoding="utf-8"), str(folder / MANIFEST)
    )
    return provenance, manifest


def open_release(
    version: str, *, results: Path, frozen: Path | None, inputs_dir: Path | None, scratch: Path
) -> Release:
    """The records of ``version``: from ``results/<version>``, or from a frozen archive
    (unpacked into ``scratch``), whose inputs are then the ones checked."""
    outputs_dir = results / version if (results / version).is_dir() else None
    if frozen is None:
        if outputs_dir is None:
            raise FileNotFoundError(f"{results / version} not found (and no frozen archive given)")
        provenance, manifest = _read_records(outputs_dir, version)
        return Release(version, provenance, manifest, outputs_dir, inputs_dir, outputs_dir)
    unpacked = unpack_archive(frozen, scratch / "frozen")
    provenance, manifest = _read_records(unpacked, version)
    return Release(
        version, provenance, manifest, outputs_dir, inputs_dir or unpacked / "inputs", unpacked
    )


def audit(
    release: Release,
    *,
    workdir: Path,
    scratch: Path,
    cores: str = "all",
    reuse_scratch: bool = False,
    workflow_root: Path = WORKFLOW_ROOT,
) -> list[Finding]:
    """Every finding of the audit of ``release`` (see the module docstring)."""
    findings = input_findings(
        release.provenance["inputs"], inputs_dir=release.inputs_dir, workdir=workdir
    )
    findings += code_findings(release.provenance["code"], code_files(workflow_root))
    findings += software_findings(release.provenance["software"], software_versions())
    here = file_digests(release.outputs_dir) if release.outputs_dir is not None else None
    if not all(finding.ok for finding in findings):
        commit = release.provenance.get("git", {}).get("commit")
        findings.append(
            Finding(
                "rerun",
                release.version,
                False,
                "not attempted: the inputs or the code differ from the recorded ones "
                f"(the version was made at commit {commit})",
            )
        )
        return findings + output_findings(release.manifest, here, None)
    run_dir = scratch / "run"
    if run_dir.exists() and not reuse_scratch:
        shutil.rmtree(run_dir)
    prepare_scratch(run_dir, release.provenance, inputs_dir=release.inputs_dir, workdir=workdir)
    log = scratch / "rerun.log"
    returncode = rerun(run_dir, cores=cores, workflow_root=workflow_root, log=log)
    rerun_dir = run_dir / "results" / release.version
    if returncode != 0:
        findings.append(Finding("rerun", release.version, False, f"Snakemake failed; see {log}"))
        return findings + output_findings(release.manifest, here, None)
    if not rerun_dir.is_dir():
        made = sorted(p.name for p in (run_dir / "results").iterdir() if p.is_dir())
        findings.append(
            Finding("rerun", release.version, False, f"the rerun made version(s) {made} instead")
        )
        return findings + output_findings(release.manifest, here, None)
    findings.append(Finding("rerun", release.version, True, f"into {rerun_dir}"))
    return findings + output_findings(release.manifest, here, file_digests(rerun_dir))


def report(findings: Sequence[Finding], version: str) -> tuple[str, bool]:
    """The audit's printout (a line per finding, then the verdict) and whether it passed."""
    failed = sum(not finding.ok for finding in findings)
    outputs = [finding for finding in findings if finding.kind == "output"]
    reproduced = any(finding.kind == "rerun" and finding.ok for finding in findings)
    checked = "here and in the rerun" if reproduced else "here only (no rerun)"
    lines = [finding.line() for finding in findings]
    lines.append(
        f"audit of {version}: {'PASS' if not failed else 'FAIL'} ({failed} failed; "
        f"{sum(f.ok for f in outputs)} of {len(outputs)} output files match {MANIFEST}, "
        f"{checked})"
    )
    return "\n".join(lines) + "\n", not failed


# --- Freezing ------------------------------------------------------------------------------

#: Fixed metadata of every archive member, so an archive's bytes depend on content only.
_MEMBER_MTIME = 0


def archive_members(
    release: Release, *, workdir: Path, workflow_root: Path = WORKFLOW_ROOT
) -> dict[str, bytes]:
    """Archive path -> content of everything ``freeze`` packs, each checked first against
    the version's records (a raw input or lock file that differs is refused)."""
    problems = [
        finding.line()
        for finding in input_findings(
            release.provenance["inputs"], inputs_dir=release.inputs_dir, workdir=workdir
        )
        if not finding.ok
    ]
    recorded_code = release.provenance["code"]
    for name in LOCK_FILES:
        if name in recorded_code and sha256_file(workflow_root / name) != recorded_code[name]:
            problems.append(f"FAIL  code  {name}: differs from the recorded hash")
    if problems:
        raise ValueError(f"cannot freeze {release.version}:\n" + "\n".join(problems))
    # The records as they are, so their hashes can be compared with a published copy.
    members = {name: (release.records_dir / name).read_bytes() for name in (PROVENANCE, MANIFEST)}
    for name in LOCK_FILES:
        if name in recorded_code:
            members[f"lock/{name}"] = (workflow_root / name).read_bytes()
    for record in release.provenance["inputs"]:
        layout_path = record["layout_path"]
        location = input_location(record, inputs_dir=release.inputs_dir, workdir=workdir)
        members[f"inputs/{layout_path}"] = location.read_bytes()
        download_record = download_record_path(layout_path, raw_root(location, layout_path))
        if ("original_download" in record or record.get("source") == "download") and (
            download_record.is_file()
        ):
            members[f"inputs/download-records/{layout_path}.json"] = download_record.read_bytes()
    members["README.txt"] = _archive_readme(release).encode()
    return dict(sorted(members.items()))


def _archive_readme(release: Release) -> str:
    git = release.provenance.get("git", {})
    dirty = " (with uncommitted changes: see code in provenance.json)" if git.get("dirty") else ""
    return (
        f"Frozen inputs of results version {release.version}.\n\n"
        f"inputs/            the raw inputs in the raw-input layout (and download records)\n"
        f"lock/              the pinned software of the run\n"
        f"{PROVENANCE}    the version's provenance record\n"
        f"{MANIFEST}    the sha256 of every output file\n\n"
        "To audit it with no network, in a checkout of the workflow at commit "
        f"{git.get('commit')}{dirty}:\n\n"
        f"    make audit VERSION={release.version} FROZEN=<this archive>\n"
    )


def write_archive(members: Mapping[str, bytes], version: str, path: Path) -> None:
    """A gzipped tar of ``members`` under ``<version>/``, with fixed times, owners and
    modes, written atomically."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(f"{version}/{name}")
            info.size, info.mtime, info.mode = len(content), _MEMBER_MTIME, 0o644
            archive.addfile(info, io.BytesIO(content))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with (
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_MEMBER_MTIME) as zipped,
    ):
        zipped.write(buffer.getvalue())
    partial.replace(path)


def unpack_archive(archive: Path, target: Path) -> Path:
    """Unpack a frozen archive into ``target``; returns its version folder."""
    if target.exists():
        shutil.rmtree(target)
    with tarfile.open(archive, "r:gz") as opened:
        tops = {Path(name).parts[0] for name in opened.getnames()}
        if len(tops) != 1:
            raise ValueError(f"{archive}: expected one version folder, found {sorted(tops)}")
        opened.extractall(target, filter="data")
    return target / tops.pop()


# --- Command line ----------------------------------------------------------------------------


def resolve_version(version: str | None, results: Path) -> str:
    """``version``, or the one ``results/latest`` points at."""
    if version:
        return version
    latest = results / "latest"
    if not latest.is_symlink():
        raise FileNotFoundError(f"no VERSION given and {latest} does not exist")
    return latest.resolve().name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m housing_segregation.audit", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="verify inputs and outputs, rerun, compare")
    freeze = commands.add_parser("freeze", help="pack a version's inputs and lock files")
    for command in (check, freeze):
        command.add_argument("version", nargs="?", help="a results version (default: latest)")
        command.add_argument("--results", type=Path, default=Path("results"))
        command.add_argument(
            "--inputs", type=Path, help="a folder in the raw-input layout holding the inputs"
        )
    check.add_argument("--frozen", type=Path, help="audit from an archive made by freeze")
    check.add_argument("--scratch", type=Path, help=f"default: {SCRATCH_DIR}/<version>")
    check.add_argument("--cores", default="all")
    check.add_argument(
        "--reuse-scratch",
        action="store_true",
        help="keep a previous audit's rerun of this version (quicker)",
    )
    freeze.add_argument("--output", type=Path, help=f"default: {FROZEN_DIR}/<version>.tar.gz")
    arguments = parser.parse_args(argv)
    version = resolve_version(arguments.version, arguments.results)
    workdir = Path.cwd()
    if arguments.command == "freeze":
        release = open_release(
            version,
            results=arguments.results,
            frozen=None,
            inputs_dir=arguments.inputs,
            scratch=SCRATCH_DIR,
        )
        target = arguments.output or FROZEN_DIR / f"{version}.tar.gz"
        write_archive(archive_members(release, workdir=workdir), version, target)
        print(f"froze {version} into {target}")
        return 0
    scratch = arguments.scratch or SCRATCH_DIR / version
    release = open_release(
        version,
        results=arguments.results,
        frozen=arguments.frozen,
        inputs_dir=arguments.inputs,
        scratch=scratch,
    )
    findings = audit(
        release,
        workdir=workdir,
        scratch=scratch,
        cores=arguments.cores,
        reuse_scratch=arguments.reuse_scratch,
    )
    text, passed = report(findings, version)
    sys.stdout.write(text)
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "audit.txt").write_text(text, encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
