"""Tests for housing_segregation.provenance: the manifest of a results version."""

from __future__ import annotations

import hashlib

import pytest

from housing_segregation.provenance import manifest_lines, seed_record, write_manifest


def test_manifest_lists_computed_files_in_sha256sum_format(tmp_path):
    # Synthetic version folder: two computed files, and run records the manifest leaves out.
    (tmp_path / "tables").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "tables" / "b.csv").write_text("x\n1\n")
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG")
    (tmp_path / "logs" / "run.log").write_text("12:00 started\n")
    (tmp_path / "provenance.json").write_text("{}\n")
    write_manifest(tmp_path, tmp_path / "MANIFEST.sha256")
    png = hashlib.sha256(b"\x89PNG").hexdigest()
    csv = hashlib.sha256(b"x\n1\n").hexdigest()
    expected = f"{png}  figures/a.png\n{csv}  tables/b.csv\n"
    assert (tmp_path / "MANIFEST.sha256").read_text() == expected
    assert not list(tmp_path.glob("*.partial"))


def test_an_empty_version_has_no_manifest(tmp_path):
    with pytest.raises(ValueError, match="no output files under tables, figures, data"):
        manifest_lines(tmp_path)


def test_seed_record_names_each_state_year_stream():
    config = {"uncertainty": {"seed": 7}, "states": ["09", "44"], "years": [2019, 2023]}
    record = seed_record(config)
    assert record["uncertainty.seed"] == 7
    assert record["state_year_streams"] == {
        "09_2019": [7, 2019, 9],
        "09_2023": [7, 2023, 9],
        "44_2019": [7, 2019, 44],
        "44_2023": [7, 2023, 44],
    }
