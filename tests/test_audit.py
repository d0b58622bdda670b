"""Tests for housing_segregation.audit: the checks of a reviewer's audit and the freeze archive.

The versions here are synthetic: small files whose hashes the tests compute themselves. The
end-to-end audit of a real run is in test_pipeline.py."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from housing_segregation.audit import (
    Finding,
    Release,
    archive_members,
    code_findings,
    input_findings,
    open_release,
    output_findings,
    prepare_scratch,
    read_manifest,
    report,
    resolve_version,
    unpack_archive,
    write_archive,
)
from housing_segregation.config import (
    config_fingerprint,
    load_schema,
    validate_config,
    validate_scenarios,
)

ROOT = Path(__file__).resolve().parents[1]
VERSION = "acs2023_cfgsynthetic_codesynthetic"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_manifest_lines_are_read_and_a_bad_line_is_named():
    digest = sha(b"x")
    assert read_manifest(f"{digest}  tables/a.csv\n") == {"tables/a.csv": digest}
    with pytest.raises(ValueError, match=r"MANIFEST.sha256 line 2: not '<sha256>  <path>'"):
        read_manifest(f"{digest}  tables/a.csv\nabc tables/b.csv\n")


def test_each_output_is_checked_here_and_in_the_rerun():
    good, bad = sha(b"good"), sha(b"bad")
    manifest = {"tables/a.csv": good, "figures/b.png": good, "data/c.csv": good}
    here = {"tables/a.csv": bad, "figures/b.png": good, "data/c.csv": good}
    rerun = {"tables/a.csv": good, "figures/b.png": good, "data/extra.csv": good}
    findings = {f.path: f for f in output_findings(manifest, here, rerun)}
    assert findings["figures/b.png"].ok
    assert not findings["tables/a.csv"].ok
    assert findings["tables/a.csv"].detail.startswith("here differs from MANIFEST.sha256")
    assert findings["data/c.csv"].detail == "missing rerun"
    assert findings["data/extra.csv"].detail == "rerun, not in MANIFEST.sha256"
    # Without a rerun, only the files here are judged.
    alone = {f.path: f.ok for f in output_findings(manifest, here, None)}
    assert alone == {"tables/a.csv": False, "figures/b.png": True, "data/c.csv": True}


def test_a_changed_raw_input_byte_fails_naming_its_layout_path(tmp_path):
    content = b'[["NAME","B03002_001E"],["Tract 1","2833"]]'
    path = tmp_path / "census-api" / "acs5_2023_tract_state09.json"
    path.parent.mkdir()
    path.write_bytes(content)
    record = {
        "layout_path": "census-api/acs5_2023_tract_state09.json",
        "bytes": len(content),
        "sha256": sha(content),
        "source": "download",
    }
    [passed] = input_findings([record], inputs_dir=tmp_path, workdir=tmp_path)
    assert passed.ok
    path.write_bytes(content.replace(b"2833", b"2834"))
    [failed] = input_findings([record], inputs_dir=tmp_path, workdir=tmp_path)
    assert not failed.ok
    assert failed.line().startswith("FAIL  input     census-api/acs5_2023_tract_state09.json: ")
    assert "differs from provenance.json" in failed.detail
    path.unlink()
    [missing] = input_findings([record], inputs_dir=tmp_path, workdir=tmp_path)
    assert "not found" in missing.detail


def test_mirror_inputs_are_found_where_the_run_read_them(tmp_path):
    (tmp_path / "mirror" / "census-api").mkdir(parents=True)
    (tmp_path / "mirror" / "census-api" / "a.json").write_bytes(b"[]")
    record = {
        "layout_path": "census-api/a.json",
        "bytes": 2,
        "sha256": sha(b"[]"),
        "source": "mirror",
        "mirror_path": "mirror/census-api/a.json",
    }
    [finding] = input_findings([record], inputs_dir=None, workdir=tmp_path)
    assert finding.ok


def test_code_differences_are_listed_file_by_file():
    recorded = {"Snakefile": "1", "workflow/rules/a.smk": "2", "workflow/old.py": "3"}
    current = {"Snakefile": "1", "workflow/rules/a.smk": "9", "workflow/new.py": "4"}
    lines = [f.line() for f in code_findings(recorded, current)]
    assert lines == [
        "FAIL  code      workflow/new.py: in this checkout, not recorded",
        "FAIL  code      workflow/old.py: recorded, missing from this checkout",
        "FAIL  code      workflow/rules/a.smk: differs from the recorded hash",
    ]
    [same] = code_findings(recorded, recorded)
    assert same.ok and same.detail == "3 files match"


def test_report_passes_only_without_failures():
    passing = [Finding("rerun", VERSION, True), Finding("output", "tables/a.csv", True)]
    text, passed = report(passing, VERSION)
    assert passed
    assert text.splitlines()[-1] == (
        f"audit of {VERSION}: PASS (0 failed; 1 of 1 output files match MANIFEST.sha256, "
        "here and in the rerun)"
    )
    warned = [*passing, Finding("software", "numpy", True, "2.0 recorded, 2.1 here", warning=True)]
    assert report(warned, VERSION)[1]
    assert "WARN  software  numpy: 2.0 recorded, 2.1 here" in report(warned, VERSION)[0]
    failing = [*passing, Finding("output", "tables/b.csv", False, "missing here")]
    text, passed = report(failing, VERSION)
    assert not passed
    assert "FAIL  output    tables/b.csv: missing here" in text
    assert text.splitlines()[-1].startswith(f"audit of {VERSION}: FAIL (1 failed; 1 of 2")


def real_config() -> dict:
    """The project's own config, validated, with its resolved scenarios (as the run has it)."""
    config = validate_config(
        yaml.safe_load((ROOT / "config" / "config.yaml").read_text()),
        load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"),
    )
    config["scenarios"]["resolved"] = validate_scenarios(
        yaml.safe_load((ROOT / "config" / "scenarios.yaml").read_text()),
        load_schema(ROOT / "workflow" / "schemas" / "scenarios.schema.yaml"),
        "config/scenarios.yaml",
    )
    return config


def test_the_recorded_config_reproduces_itself_and_its_version(tmp_path):
    """The rerun's config files, read back as the workflow reads them, give the same config,
    scenario order included, and so the same config hash: the audit reruns the version."""
    original = real_config()
    # As provenance.json stores it: mapping keys sorted, so the file's scenario order is lost.
    recorded = json.loads(json.dumps(original, sort_keys=True))
    order = original["scenarios"]["resolved"]["order"]
    assert list(recorded["scenarios"]["resolved"]["scenarios"]) != order
    recorded["mirror"] = "/somewhere/else"
    prepare_scratch(
        tmp_path, {"config": recorded, "inputs": []}, inputs_dir=tmp_path / "frozen",
        workdir=tmp_path,
    )  # fmt: skip
    again = validate_config(
        yaml.safe_load((tmp_path / "config" / "config.yaml").read_text()),
        load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"),
    )
    assert again["mirror"] == str((tmp_path / "frozen").resolve())
    again["scenarios"]["resolved"] = validate_scenarios(
        yaml.safe_load((tmp_path / "config" / "scenarios.yaml").read_text()),
        load_schema(ROOT / "workflow" / "schemas" / "scenarios.schema.yaml"),
        "config/scenarios.yaml",
    )
    assert again["scenarios"]["resolved"] == recorded["scenarios"]["resolved"]
    assert list(again["scenarios"]["resolved"]["scenarios"]) == order
    assert config_fingerprint(again) == config_fingerprint(recorded)
    assert "resolved" in recorded["scenarios"]  # the provenance record is left as it was


def synthetic_release(tmp_path: Path, *, source: str) -> Release:
    """A version folder with one output and one raw input in a raw cache (or a mirror)."""
    root = tmp_path / ("resources" if source == "download" else "mirror")
    layout_path = "census-api/acs5_2023_tract_state09.json"
    raw = root / layout_path
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"[]")
    record = {"layout_path": layout_path, "bytes": 2, "sha256": sha(b"[]"), "source": source}
    if source == "download":
        download_record = root / "download-records" / f"{layout_path}.json"
        download_record.parent.mkdir(parents=True)
        download_record.write_text(json.dumps({"sha256": sha(b"[]"), "url": "https://x"}))
    else:
        record["mirror_path"] = str(raw)
    version_dir = tmp_path / "results" / VERSION
    (version_dir / "tables").mkdir(parents=True)
    table = b"a\n1\n"
    (version_dir / "tables" / "a.csv").write_bytes(table)
    (version_dir / "MANIFEST.sha256").write_text(f"{sha(table)}  tables/a.csv\n")
    config = {
        "mirror": str(root) if source == "mirror" else None,
        "scenarios": {
            "file": "config/scenarios.yaml",
            "resolved": {"scenarios": {}, "sweeps": [], "order": []},
        },
    }
    provenance = {
        "results_version": VERSION,
        "inputs": [record],
        "config": config,
        "code": {},
        "git": {"commit": "abc", "dirty": False},
    }
    (version_dir / "provenance.json").write_text(json.dumps(provenance))
    return open_release(
        VERSION, results=tmp_path / "results", frozen=None, inputs_dir=None, scratch=tmp_path
    )


def test_freeze_is_deterministic_and_unpacks_into_an_auditable_folder(tmp_path):
    release = synthetic_release(tmp_path, source="download")
    members = archive_members(release, workdir=tmp_path, workflow_root=tmp_path)
    assert sorted(members) == [
        "MANIFEST.sha256",
        "README.txt",
        "inputs/census-api/acs5_2023_tract_state09.json",
        "inputs/download-records/census-api/acs5_2023_tract_state09.json.json",
        "provenance.json",
    ]
    write_archive(members, VERSION, tmp_path / "one.tar.gz")
    write_archive(members, VERSION, tmp_path / "two.tar.gz")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "one.tar.gz") as archive:
        assert {member.mtime for member in archive.getmembers()} == {0}
    unpacked = unpack_archive(tmp_path / "one.tar.gz", tmp_path / "unpacked")
    assert unpacked == tmp_path / "unpacked" / VERSION
    assert (unpacked / "provenance.json").read_bytes() == (
        tmp_path / "results" / VERSION / "provenance.json"
    ).read_bytes()
    frozen = open_release(
        VERSION,
        results=tmp_path / "none",
        frozen=tmp_path / "one.tar.gz",
        inputs_dir=None,
        scratch=tmp_path / "scratch",
    )
    assert frozen.outputs_dir is None
    [finding] = input_findings(
        frozen.provenance["inputs"], inputs_dir=frozen.inputs_dir, workdir=tmp_path
    )
    assert finding.ok


def test_freeze_refuses_an_input_that_changed(tmp_path):
    release = synthetic_release(tmp_path, source="mirror")
    (tmp_path / "mirror" / "census-api" / "acs5_2023_tract_state09.json").write_bytes(b"[1]")
    with pytest.raises(
        ValueError, match=r"(?s)cannot freeze .*FAIL  input     census-api/acs5_2023"
    ):
        archive_members(release, workdir=tmp_path, workflow_root=tmp_path)


def test_a_download_version_reruns_from_a_raw_cache_of_its_inputs(tmp_path):
    release = synthetic_release(tmp_path, source="download")
    scratch = tmp_path / "scratch"
    prepare_scratch(scratch, release.provenance, inputs_dir=None, workdir=tmp_path)
    layout_path = "census-api/acs5_2023_tract_state09.json"
    assert (scratch / "resources" / layout_path).read_bytes() == b"[]"
    assert (scratch / "resources" / "download-records" / f"{layout_path}.json").is_file()
    written = yaml.safe_load((scratch / "config" / "config.yaml").read_text())
    assert written["mirror"] is None
    assert written["scenarios"] == {"file": "config/scenarios.yaml"}
    scenarios = yaml.safe_load((scratch / "config" / "scenarios.yaml").read_text())
    assert scenarios == {"scenarios": {}, "sweeps": []}


def test_a_mirror_version_reruns_from_the_inputs_given(tmp_path):
    release = synthetic_release(tmp_path, source="mirror")
    scratch = tmp_path / "scratch"
    prepare_scratch(scratch, release.provenance, inputs_dir=tmp_path / "frozen", workdir=tmp_path)
    written = yaml.safe_load((scratch / "config" / "config.yaml").read_text())
    assert written["mirror"] == str((tmp_path / "frozen").resolve())
    assert not (scratch / "resources").exists()


def test_records_of_another_version_are_refused(tmp_path):
    synthetic_release(tmp_path, source="mirror")
    (tmp_path / "results" / "other").mkdir()
    for name in ("provenance.json", "MANIFEST.sha256"):
        source = tmp_path / "results" / VERSION / name
        (tmp_path / "results" / "other" / name).write_bytes(source.read_bytes())
    with pytest.raises(ValueError, match="is of version 'acs2023_cfgsynthetic"):
        open_release(
            "other", results=tmp_path / "results", frozen=None, inputs_dir=None, scratch=tmp_path
        )
    with pytest.raises(FileNotFoundError, match="no VERSION given"):
        resolve_version(None, tmp_path / "results")
