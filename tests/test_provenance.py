"""Tests for housing_segregation.provenance: the manifest of a results version."""

from __future__ import annotations

import hashlib

import pytest

from housing_segregation.provenance import manifest_lines, write_manifest


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
