"""results/latest and the raw-input layout."""

from pathlib import Path

import pytest

from housing_segregation.paths import mirror_file, point_latest_at, raw_root


def test_latest_moves_only_when_every_output_exists(tmp_path):
    results = tmp_path / "results"
    version = results / "acs2023_cfgaaaaaaaa_codebbbbbbbb"
    (version / "tables").mkdir(parents=True)
    required = [str(version / "tables" / "indices.csv"), str(version / "provenance.json")]
    (version / "tables" / "indices.csv").write_text("x\n")

    assert point_latest_at(version.name, required, results) is False
    assert not (results / "latest").exists()

    (version / "provenance.json").write_text("{}\n")
    assert point_latest_at(version.name, required, results) is True
    latest = results / "latest"
    assert latest.is_symlink() and Path(latest.readlink()) == Path(version.name)
    assert (latest / "provenance.json").read_text() == "{}\n"


def test_latest_is_replaced_not_nested(tmp_path):
    results = tmp_path / "results"
    for name in ("v1", "v2"):
        (results / name).mkdir(parents=True)
    point_latest_at("v1", [], results)
    point_latest_at("v2", [], results)
    assert (results / "latest").readlink() == Path("v2")
    assert sorted(p.name for p in results.iterdir()) == ["latest", "v1", "v2"]


def test_mirror_file_takes_the_first_candidate_present(tmp_path):
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / "cb_2020_09_tract_500k.geojson").write_text("{}")
    found = mirror_file(
        tmp_path,
        ["boundaries/cb_2020_09_tract_500k.zip", "boundaries/cb_2020_09_tract_500k.geojson"],
    )
    assert found == str(tmp_path / "boundaries" / "cb_2020_09_tract_500k.geojson")


def test_mirror_file_names_every_path_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"tract_500k\.zip, .*tract_500k\.geojson"):
        mirror_file(tmp_path, ["b/tract_500k.zip", "b/tract_500k.geojson"])


def test_raw_root_is_the_folder_above_the_layout_path():
    layout_path = "census-api/acs5_2023_tract_state09.json"
    assert raw_root(f"/data/mirror/{layout_path}", layout_path) == Path("/data/mirror/")
    assert raw_root(layout_path, layout_path) == Path(".")
    with pytest.raises(ValueError, match="is not at census-api/acs5_2023"):
        raw_root("/data/other.json", layout_path)
