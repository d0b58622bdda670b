"""The workflow as a user runs it: lint, dry runs, and end-to-end mirror runs on real data."""

import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.parse
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from hud_fixtures import FIXTURES as HUD_FIXTURES
from hud_fixtures import workbook_bytes, zip_bytes
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[1]
INDEX_COLUMNS = [
    "year",
    "geography_level",
    "geography_id",
    "geography_name",
    "unit_level",
    "index",
    "group",
    "reference_group",
    "value",
    "n_units",
    "population",
    "se",
    "ci_low",
    "ci_high",
    "coverage",
]
#: The contract columns of siting_metrics.csv, restated: the test must not import them.
SITING_COLUMNS = [
    "year",
    "program",
    "geography_level",
    "geography_id",
    "geography_name",
    "metric",
    "value",
    "denominator",
]
API_KEY_SENTINEL = "sentinel-census-key-0123456789"
#: The end-to-end runs' Monte Carlo work: fewer draws and permutations than the defaults
#: (1,000 draws, 999 permutations), to keep the suite under 15 minutes with four full runs;
#: the code paths and the arithmetic are the same at any number.
FEWER_DRAWS = (
    "uncertainty={draws: 100}",
    "inference={bias_correction_draws: 50, permutations: 49}",
    "scenarios={draws: 50, sweep_draws: 20}",
)
#: Runs that test something else leave the scenarios out.
NO_SCENARIOS = "scenarios={run: []}"


#: SYNTHETIC, not Census data: a two-row file in the layout of the Census 2020-to-2010 tract
#: relationship file, for the download-mode run to fetch (it stops before harmonising).
SYNTHETIC_TRACT_RELATIONSHIPS = (
    b"OID_TRACT_20|GEOID_TRACT_20|NAMELSAD_TRACT_20|AREALAND_TRACT_20|AREAWATER_TRACT_20|"
    b"MTFCC_TRACT_20|FUNCSTAT_TRACT_20|OID_TRACT_10|GEOID_TRACT_10|NAMELSAD_TRACT_10|"
    b"AREALAND_TRACT_10|AREAWATER_TRACT_10|MTFCC_TRACT_10|FUNCSTAT_TRACT_10|AREALAND_PART|"
    b"AREAWATER_PART\n"
    b"1|09001010101|Census Tract 101.01|100|0|G5020|S|2|09001010101|Census Tract 101.01|"
    b"100|0|G5020|S|100|0\n"
)


def snakemake(workdir: Path, *args: str, env_key: bool = False) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (which holds config/config.yaml)."""
    env = {**os.environ, "CENSUS_API_KEY": API_KEY_SENTINEL} if env_key else None
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def new_workdir(tmp_path_factory, name: str) -> Path:
    workdir = tmp_path_factory.mktemp(name)
    (workdir / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", workdir / "config" / "config.yaml")
    shutil.copy(ROOT / "config" / "scenarios.yaml", workdir / "config" / "scenarios.yaml")
    return workdir


def digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.parent.name in {"tables", "figures", "data"}
    }


def test_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--config", "mirror=../shared/data"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr


def test_dry_run_without_mirror_plans_the_downloads(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "dry")
    result = snakemake(workdir, "--dry-run", "--config", "years=[2019,2023]")
    assert result.returncode == 0, result.stderr
    for rule in ("download_acs", "download_boundaries", "download_crosswalk", "normalise_units"):
        assert rule in result.stdout
    # 2 ACS tables, 2019 tracts, 2020 tracts and 2020 towns, one crosswalk (2023 only).
    assert "resources/census-api/acs5_2019_tract_state09.json" in result.stdout
    assert "resources/boundaries/cb_2020_09_cousub_500k.zip" in result.stdout
    assert "resources/crosswalks/ct_tract_2020_to_2022.csv" in result.stdout
    assert "download_state_source" in result.stdout
    assert "resources/ct-housing/assisted_housing_projects.csv" in result.stdout
    # The `download` target fetches the same inputs and computes nothing.
    fetch_only = snakemake(workdir, "--dry-run", "download", "--config", "years=[2019,2023]")
    assert fetch_only.returncode == 0, fetch_only.stderr
    planned = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", fetch_only.stdout, flags=re.M)
    # The list of cross-state CBSAs (a few lines read from the delineations) says which
    # other states' inputs to fetch as well.
    assert set(planned) == {
        "download", "download_acs", "download_boundaries", "download_crosswalk",
        "download_cbsa_delineation", "download_state_source", "download_relationships",
        "list_cross_state_cbsas",
    }  # fmt: skip
    assert "resources/census-api/acs5_2019_tract_state09.json" in fetch_only.stdout
    # 2019 is on 2010 tracts, 2023 on 2020 tracts: the time series needs the Census
    # relationship file, and the harmonisation reads it (its jobs follow a checkpoint, so
    # they are asked for by name).
    relationships = "resources/census-rel2020/tab20_tract20_tract10_natl.txt"
    assert relationships in fetch_only.stdout
    assert relationships in harmonise_inputs(workdir, "--config", "years=[2019,2023]")


def test_block_group_runs_plan_their_own_downloads_and_time_series(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "dry-block-groups")
    config = ("--config", "years=[2019,2023]", "unit_level=block_group")
    fetch_only = snakemake(workdir, "--dry-run", "download", *config)
    assert fetch_only.returncode == 0, fetch_only.stderr
    # Block groups beside the tracts that R/ECAPs and subsidized housing keep using.
    for layout in ("census-api/acs5_2019_block_group_state09.json",
                   "census-api/acs5_2023_tract_state09.json",
                   "boundaries/cb_2019_09_bg_500k.zip", "boundaries/cb_2020_09_bg_500k.zip",
                   "census-rel2020/tab20_blkgrp20_blkgrp10_natl.txt"):  # fmt: skip
        assert f"resources/{layout}" in fetch_only.stdout, layout
    assert "tab20_tract20_tract10_natl.txt" not in fetch_only.stdout
    # The cross-state CBSA listing that `download` plans names the version.
    version = re.search(r"results/(acs[^/\s]+)/", fetch_only.stdout)[1]
    target = f"results/{version}/data/harmonised/block_groups_09_2019.parquet"
    planned = snakemake(workdir, "--dry-run", target, *config)
    assert planned.returncode == 0, planned.stderr
    job = planned.stdout.split("rule harmonise_units:")[1].split("output:")[0]
    assert "tab20_blkgrp20_blkgrp10_natl.txt" in job
    assert f"results/{version}/data/block_groups_09_2023.parquet" in job


def link_mirror(source: Path, mirror: Path) -> None:
    """A mirror of ``source`` made of symbolic links, to add files to."""
    for path in source.rglob("*"):
        if path.is_file():
            link = mirror / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


def harmonise_inputs(workdir: Path, *args: str) -> str:
    """The input line of the dry run's harmonise_units job for Connecticut 2019. Its jobs
    follow a checkpoint, so a plain dry run leaves them out: the job's output is asked for
    by name, in the version the first dry run names (asked again should the version have
    moved in between, as it does while the code is being edited)."""
    for _ in range(3):
        listed = snakemake(workdir, "--dry-run", *args)
        assert listed.returncode == 0, listed.stderr
        version = re.search(r"results/(acs[^/\s]+)/", listed.stdout)[1]
        target = f"results/{version}/data/harmonised/tracts_09_2019.parquet"
        planned = snakemake(workdir, "--dry-run", target, *args)
        if planned.returncode == 0:
            job = planned.stdout.split("rule harmonise_units:")[1]
            return job.split("output:")[0]
    raise AssertionError(planned.stdout + planned.stderr)


def test_a_mirror_lends_its_relationship_file_to_the_time_series(tmp_path_factory, shared_data):
    """A mirror with the Census relationship file harmonises with it; one without (such as
    ../shared/data) overlays the two years' boundaries, as before."""
    relationships = "census-rel2020/tab20_tract20_tract10_natl.txt"
    with_file = tmp_path_factory.mktemp("mirror-with-relationships")
    link_mirror(shared_data, with_file)
    (with_file / relationships).parent.mkdir()
    (with_file / relationships).write_bytes(SYNTHETIC_TRACT_RELATIONSHIPS)
    workdir = new_workdir(tmp_path_factory, "mirror-relationships")
    for mirror, expected in ((with_file, True), (shared_data, False)):
        inputs = harmonise_inputs(workdir, "--config", "years=[2019,2023]", f"mirror={mirror}")
        assert (f"{mirror}/{relationships}" in inputs) is expected


def test_hud_sources_are_downloaded_into_the_raw_layout_when_configured(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "hud")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["subsidized"]["hud"] = {"psh_year": 2023, "voucher_vintage": 2025, "lihtc_vintage": 2024}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--dry-run")
    assert result.returncode == 0, result.stderr
    for path in (
        "resources/hud-psh/TRACT_AK_MN_2023_2020census.xlsx",
        "resources/hud-hcv/hcv_2025_tract_state09.json",
        "resources/hud-lihtc/lihtcpub_2024.zip",
        "resources/hud-lihtc/lihtc_egis_2024_state09.json",
        "tables/hud_by_tract.csv",
    ):
        assert path in result.stdout, path
    for rule in ("download_hud_psh", "download_hud_vouchers", "download_hud_lihtc", "hud_by_tract"):
        assert f"rule {rule}:" in result.stdout, rule


def test_town_lists_without_url_are_skipped_until_placed(tmp_path_factory):
    # The 8-30g workbooks have no stable address: without them in the raw cache the run
    # plans no town tables and says where to put the workbooks.
    workdir = new_workdir(tmp_path_factory, "placed")
    result = snakemake(workdir, "--dry-run")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "subsidized.town_lists.09: 18 workbook(s) have no URL" in output
    assert "resources/ct-housing/affordable-housing-appeals-list/" in output
    assert "rule town_assisted_share" not in output
    assert "rule siting_metrics" in output


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("states=[99]", ["states", "'09'"]),
        ("years=[2005]", ["years", "2010"]),
        ("unit_level=block", ["unit_level", "'tract'"]),
    ],
)
def test_config_errors_name_the_key(tmp_path_factory, setting, words):
    workdir = new_workdir(tmp_path_factory, "bad")
    result = snakemake(workdir, "--dry-run", "--config", setting)
    assert result.returncode != 0
    for word in words:
        assert word in result.stderr + result.stdout


def test_missing_mirror_file_is_named(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory, "empty-mirror")
    mirror = workdir / "mirror"
    mirror.mkdir()
    result = snakemake(workdir, "--dry-run", "--config", f"mirror={mirror}")
    assert result.returncode != 0
    assert "census-api/acs5_2023_tract_state09.json" in result.stderr + result.stdout


@pytest.fixture(scope="module")
def mirror_run(tmp_path_factory, shared_data):
    """Connecticut 2019 and 2023 from the real mirror, as `make run ARGS=...` would run it."""
    workdir = new_workdir(tmp_path_factory, "e2e")
    result = snakemake(
        workdir, "--cores", "2", "--config", f"mirror={shared_data}", "years=[2019,2023]",
        *FEWER_DRAWS, env_key=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.mark.e2e
def test_outputs_are_versioned_and_complete(mirror_run):
    latest = mirror_run / "results" / "latest"
    assert latest.is_symlink()
    version = latest.resolve().name
    assert version.startswith("acs2019+2023_cfg")
    for name in (
        "tables/indices.csv",
        "provenance.json",
        "figures/nonwhite_share_09_2019.png",
        "figures/nonwhite_share_09_2023.png",
        "figures/dissimilarity_09_2019.png",
        "figures/dissimilarity_09_2023.png",
        "figures/recaps_09_2019.png",
        "figures/recaps_09_2023.png",
        "figures/multiscalar_profile_09_2023.png",
        "figures/factsheet_09_2023.pdf",
        "figures/dissimilarity_timeseries_09.png",
        "tables/indices_timeseries.csv",
        "data/recaps_09_2023.parquet",
        "tables/subsidized_by_tract.parquet",
        "tables/siting_metrics.csv",
        "tables/town_assisted_share.csv",
        "tables/siting_model.csv",
        "tables/siting_model_fit.csv",
        "tables/siting_counterfactual.csv",
        "tables/siting_model_summary.txt",
        "figures/town_assisted_share_09.png",
        "figures/siting_shares_09_2023.png",
        "figures/siting_model_09_2023.png",
        "tables/scenarios.csv",
        "tables/scenario_tests.csv",
        "tables/fair_share_allocation.csv",
        "tables/scenario_tracts.csv",
        "tables/scenario_sensitivity.csv",
        "figures/scenario_deltas_09_2023.png",
        "figures/scenario_recaps_09_2023.png",
        "figures/scenario_sensitivity_09_2023.png",
        "figures/fair_share_09_2023_fair_share_50k.png",
        "figures/fair_share_09_2023_fair_share_50k_relocation.png",
    ):
        path = latest / name
        assert path.is_file() and path.stat().st_size > 1000, name
    # The manifest lists every computed file with its sha256, as `sha256sum -c` reads it.
    listed = {}
    for line in (latest / "MANIFEST.sha256").read_text().splitlines():
        digest, path = line.split("  ", 1)
        listed[path] = digest
    present = {
        path.relative_to(latest).as_posix()
        for folder in ("tables", "figures", "data")
        for path in (latest / folder).rglob("*")
        if path.is_file()
    }
    assert set(listed) == present
    for path, digest in listed.items():
        assert hashlib.sha256((latest / path).read_bytes()).hexdigest() == digest, path
    for figure in (latest / "figures").glob("*.png"):
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # Each figure also as SVG and PDF (the rebuild test checks all three byte for byte).
        assert figure.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
        assert figure.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.e2e
def test_indices_table(mirror_run):
    path = mirror_run / "results" / "latest" / "tables" / "indices.csv"
    assert path.read_text().splitlines()[0] == ",".join(INDEX_COLUMNS)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("value", "se", "ci_low", "ci_high"):
        table[column] = pd.to_numeric(table[column].replace("", np.nan))
    # Indices on [0, 1]. M is in nats; spatial proximity and relative clustering are ratios;
    # centralization and relative concentration can be negative; PySAL's distance-decay
    # exposure divides by column sums and can pass 1, and absolute concentration can leave
    # [0, 1] in towns of 3 tracts (docs/methods.md).
    bounded = table["index"].str.fullmatch(
        r"dissimilarity|gini|entropy|atkinson_b0\d|isolation|interaction|correlation_ratio|"
        r"multigroup_\w+|spatial_(dissimilarity|entropy)_\w+|delta|"
        r"dissimilarity_random_allocation_p"
    )
    assert table.loc[bounded, "value"].between(0, 1).all()
    assert (table.loc[table["index"].str.startswith("mutual_information"), "value"] >= 0).all()
    # Every value but the simulation-based D rows has a Monte Carlo interval around it.
    simulated = table["index"].isin(
        ["dissimilarity_bias_corrected", "dissimilarity_random_allocation_p"]
    )
    assert table.loc[simulated, ["se", "ci_low", "ci_high"]].isna().all().all()
    mc = table[~simulated]
    assert (mc["se"] >= 0).all()
    assert ((mc["ci_low"] <= mc["value"] + 1e-9) & (mc["value"] <= mc["ci_high"] + 1e-9)).all()
    assert set(table["year"]) == {"2019", "2023"}
    assert set(table["unit_level"]) == {"tract"}

    def ids(year, level):
        rows = table[(table["year"] == year) & (table["geography_level"] == level)]
        return sorted(set(rows["geography_id"]))

    regions = [f"09{code}" for code in range(110, 200, 10)]
    assert ids("2023", "county") == regions
    assert ids("2019", "county") == ["09001", "09003", "09005", "09007", "09009", "09011",
                                     "09013", "09015"]  # fmt: skip
    assert ids("2023", "planning_region") == ids("2019", "planning_region") == regions
    # The 2020 delineation's CBSAs. Worcester (49340) reaches into Massachusetts, which the
    # mirror lacks: measured once a year from Windham County's tracts alone, marked partial.
    assert ids("2023", "cbsa") == ["14860", "25540", "35300", "35980", "45860", "49340"]
    worcester = table["geography_id"] == "49340"
    assert set(table.loc[worcester, "coverage"]) == {"partial"}
    assert set(table.loc[~worcester, "coverage"]) == {"complete"}
    assert set(table.loc[worcester, "year"]) == {"2019", "2023"}
    windham = table[worcester & (table["year"] == "2023") & (table["group"] == "multigroup")]
    assert set(windham["n_units"]) == {"30"}  # Windham County's populated 2020 tracts
    assert ids("2023", "state") == ["09"]
    assert len(ids("2023", "town")) > 50
    state = table[table["geography_level"] == "state"]
    assert set(state["geography_name"]) == {"Connecticut"}
    # Above the town level every area has every index: 6 comparisons x (9 aspatial + 8
    # egohood at 4 radii + 3 distance-decay + 7 geometric + 2 inference), 3 multigroup
    # indices and the 2 town parts of M.
    above_towns = table[table["geography_level"] != "town"]
    per_area = above_towns.groupby(["year", "geography_level", "geography_id"]).size()
    assert (per_area == 6 * (9 + 8 + 3 + 7 + 2) + 3 + 2).all()
    assert {"spatial_dissimilarity_500m", "spatial_entropy_4km", "absolute_clustering",
            "dissimilarity_bias_corrected"} <= set(table["index"])  # fmt: skip
    isolation = table[table["index"] == "isolation"]
    assert (isolation["reference_group"] == "").all()
    assert (table.loc[table["index"] == "dissimilarity", "reference_group"] != "").all()
    race = state[state["group"].isin(["black_nh", "hispanic", "asian_nh", "nonwhite"])]
    population = race.assign(population=race["population"].astype(int))
    assert set(population.loc[population["year"] == "2023", "population"]) == {3_598_348}
    assert set(population.loc[population["year"] == "2019", "population"]) == {3_575_074}
    # M splits exactly into its between- and within-town parts.
    parts = above_towns.pivot_table(
        index=["year", "geography_level", "geography_id"], columns="index", values="value"
    )
    split = parts["mutual_information_between_towns"] + parts["mutual_information_within_towns"]
    assert np.allclose(split, parts["mutual_information"], atol=2e-9)


@pytest.mark.e2e
def test_time_series_carries_2019_onto_2020_tracts(mirror_run):
    """2019 (2010 tracts) is measured natively and on 2023's 2020 tracts; 2023 natively."""
    tables = mirror_run / "results" / "latest" / "tables"
    series = pd.read_csv(
        tables / "indices_timeseries.csv", dtype={"geography_id": str, "reference_group": str},
        keep_default_na=False, na_values={c: [""] for c in ("value", "se", "ci_low", "ci_high")},
    )  # fmt: skip
    assert list(series.columns) == [*INDEX_COLUMNS, "tract_geography", "harmonised"]
    native, harmonised = series[~series["harmonised"]], series[series["harmonised"]]
    assert native.groupby("year")["tract_geography"].unique().map(list).to_dict() == {
        2019: [2010],
        2023: [2020],
    }
    assert set(harmonised["year"]) == {2019} and set(harmonised["tract_geography"]) == {2020}
    # The native rows restate indices.csv.
    indices = pd.read_csv(
        tables / "indices.csv", dtype={"geography_id": str, "reference_group": str},
        keep_default_na=False, na_values={c: [""] for c in ("value", "se", "ci_low", "ci_high")},
    )  # fmt: skip
    pd.testing.assert_frame_equal(native[INDEX_COLUMNS].reset_index(drop=True), indices)
    # Harmonised 2019 is on today's planning regions; native 2019 on the old counties.
    assert "planning_region" in set(harmonised["geography_level"])
    assert set(native.loc[native["year"] == 2019, "geography_level"]) >= {"state", "county"}

    def state_d(rows):
        picked = rows[(rows["geography_level"] == "state") & (rows["index"] == "dissimilarity")
                      & (rows["group"] == "black_nh") & (rows["year"] == 2019)]  # fmt: skip
        return picked.iloc[0]

    carried, published = state_d(harmonised), state_d(native)
    # Every resident is carried (shares add to 1; whole people keep each part's total, so
    # the sum of the parts is off by a few at most); D moves only with the tract lines.
    assert abs(carried["population"] - published["population"]) <= 10
    assert abs(carried["value"] - published["value"]) < 0.02
    assert carried["ci_low"] <= carried["value"] <= carried["ci_high"]


@pytest.mark.e2e
def test_recap_table(mirror_run):
    import geopandas as gpd

    recaps = gpd.read_parquet(mirror_run / "results" / "latest" / "data" / "recaps_09_2023.parquet")
    assert len(recaps) == 879 and recaps.crs is not None
    assert 0 < int(recaps["recap"].sum()) < 100
    flagged = recaps[recaps["recap"]]
    assert (flagged["nonwhite_share"] >= 0.5).all()
    assert (flagged["poverty_rate"] >= flagged["poverty_threshold"]).all()
    assert {"lq_black_nh", "local_entropy", "cbsa_geoid", "town_name"} <= set(recaps.columns)
    # Worcester, MA-CT: the mirror has no Massachusetts, so its threshold is Connecticut's
    # tracts' alone and says so; every other CBSA lies in Connecticut.
    worcester = recaps["cbsa_geoid"] == "49340"
    assert worcester.sum() > 0 and (recaps.loc[worcester, "cbsa_coverage"] == "partial").all()
    assert (recaps.loc[~worcester, "cbsa_coverage"] == "complete").all()
    assert (recaps["cbsa_rated_tracts_elsewhere"] == 0).all()


@pytest.mark.e2e
def test_subsidized_tables(mirror_run):
    tables = mirror_run / "results" / "latest" / "tables"
    by_tract = gpd.read_parquet(tables / "subsidized_by_tract.parquet")
    assert len(by_tract) == 879 and by_tract["geoid"].is_unique
    assert set(by_tract["year"]) == {2023}
    # Every project of the inventory lands in a tract, each counted once (assisted.py).
    assert by_tract["assisted_units_total"].sum() == 86_964

    towns = pd.read_csv(tables / "town_assisted_share.csv", dtype={"town_geoid": str})
    assert sorted(set(towns["year"])) == list(range(2002, 2020))
    assert (towns.groupby("year")["town_geoid"].nunique() == 169).all()
    assert set(towns["town_geoid"]) == set(by_tract["town_geoid"])  # joins to the tracts
    latest = towns[towns["year"] == 2019]
    assert (latest["percent_published"] >= 10).sum() == 30
    assert (latest["units_to_threshold"] > 0).sum() == 139

    metrics = pd.read_csv(tables / "siting_metrics.csv", dtype={"geography_id": str})
    assert list(metrics.columns) == SITING_COLUMNS
    state = metrics[(metrics["geography_level"] == "state")].set_index(["program", "metric"])
    # Assisted units sit in R/ECAPs far more than homes do (15% against 4%).
    assert (
        state.loc[("assisted_units_total", "share_in_recap"), "value"]
        > 3 * state.loc[("all_housing", "share_in_recap"), "value"]
    )
    assert state.loc[("cgs_8_30g", "towns_below_10_percent"), "value"] == 139
    shares = metrics[metrics["metric"].str.startswith("share_in_")]
    assert shares["value"].between(0, 1).all()

    model = pd.read_csv(tables / "siting_model.csv")
    minority = model[model["term"] == "minority_share_10pp"].set_index("program")
    assert set(minority.index) == {
        "assisted_units_total", "assisted_units_public_housing",
        "assisted_units_section_8_project_based", "assisted_units_lihtc",
        "assisted_units_state_and_local",
    }  # fmt: skip
    assert (
        (minority["irr_ci_low"] < minority["irr"]) & (minority["irr"] < minority["irr_ci_high"])
    ).all()
    fit = pd.read_csv(tables / "siting_model_fit.csv")
    assert (fit["n"] == 870).all()

    # The shared-point sensitivity restates siting_metrics.csv and moves public housing most.
    sensitivity = pd.read_csv(tables / "siting_sensitivity.csv", dtype={"geography_id": str})
    keys = ["program", "geography_level", "geography_id", "metric"]
    joined = sensitivity.merge(metrics, on=keys, suffixes=("", "_metrics"), validate="1:1")
    assert len(joined) == len(sensitivity)
    assert np.allclose(joined["value"], joined["value_metrics"], rtol=1e-9, equal_nan=True)
    changed = sensitivity[(sensitivity["geography_level"] == "state")].set_index(
        ["program", "metric"]
    )
    assert changed.loc[("assisted_units_total", "units"), "difference"] == -4705
    recap = changed.loc[("assisted_units_public_housing", "share_in_recap")]
    assert round(recap["value"], 3) == 0.197
    assert round(recap["value_without_shared_points"], 3) == 0.137
    summary = (tables / "siting_model_summary.txt").read_text()
    assert "not evidence of intent" in summary


#: The contract columns of scenarios.csv, restated: the test must not import them.
SCENARIO_COLUMNS = [
    "scenario", "metric", "geography_level", "geography_id", "baseline", "value", "delta",
    "delta_ci_low", "delta_ci_high",
]  # fmt: skip


@pytest.mark.e2e
def test_scenario_tables(mirror_run):
    tables = mirror_run / "results" / "latest" / "tables"
    scenarios = pd.read_csv(tables / "scenarios.csv", dtype={"geography_id": str})
    # The contract's columns first, in order; added columns (the year) after them.
    assert list(scenarios.columns)[: len(SCENARIO_COLUMNS)] == SCENARIO_COLUMNS
    assert list(scenarios.columns)[len(SCENARIO_COLUMNS) :] == ["year"]
    assert set(scenarios["year"]) == {2023}
    presets = yaml.safe_load((ROOT / "config" / "scenarios.yaml").read_text())["scenarios"]
    assert list(dict.fromkeys(scenarios["scenario"])) == list(presets)
    assert np.allclose(scenarios["delta"], scenarios["value"] - scenarios["baseline"],
                       equal_nan=True)  # fmt: skip
    assert (scenarios["delta_ci_low"] <= scenarios["delta"] + 1e-12).all()
    assert (scenarios["delta"] <= scenarios["delta_ci_high"] + 1e-12).all()
    # Every scenario's baseline is indices.csv's value (2023): one baseline for all.
    indices = pd.read_csv(tables / "indices.csv", dtype={"geography_id": str},
                          keep_default_na=False, na_values=[""])  # fmt: skip
    d_bw = indices[
        (indices["year"] == 2023)
        & (indices["geography_level"] == "state")
        & (indices["index"] == "dissimilarity")
        & (indices["group"] == "black_nh")
    ]
    state = scenarios[scenarios["geography_level"] == "state"].set_index(["scenario", "metric"])
    bw = state.xs("dissimilarity:black_nh:white_nh", level="metric")
    assert np.allclose(bw["baseline"], d_bw["value"].iloc[0], rtol=1e-9)
    # New supply outside R/ECAPs and region-wide mobility lower Black-white D, with
    # intervals below zero; moves confined to one town hardly change it.
    for name in ("gap_to_10_percent", "fair_share_50k", "mobility_region_counseling"):
        assert bw.loc[name, "delta_ci_high"] < 0, name
    assert abs(bw.loc["mobility_town", "delta"]) < abs(bw.loc["mobility_region", "delta"])
    assert bw.loc["mobility_region_counseling", "delta"] < bw.loc["mobility_region", "delta"]
    # The gap rule brings every town to 10%.
    assert state.loc[("gap_to_10_percent", "towns_at_or_above_10_percent"), "value"] == 169

    tests = pd.read_csv(tables / "scenario_tests.csv", dtype={"geography_id": str})
    assert len(tests) == len(scenarios)
    assert tests["delta_p_value"].between(0, 1).all()
    assert (tests["delta_p_value_adjusted"] >= tests["delta_p_value"] - 1e-12).all()
    significant = tests.set_index(["scenario", "metric", "geography_level"])["differs_from_zero"]
    assert significant[("fair_share_50k", "dissimilarity:black_nh:white_nh", "state")]

    allocation = pd.read_csv(tables / "fair_share_allocation.csv", dtype={"town_geoid": str})
    fair = allocation[allocation["scenario"] == "fair_share_50k"]
    assert fair["units"].sum() == 50_000 and len(fair) == 169
    assert (fair.loc[~fair["eligible"], "units"] == 0).all()
    assert (fair["units"] <= fair["cap"] + 1e-9).all()
    gap = allocation[allocation["scenario"] == "gap_to_10_percent"]
    assert gap["units"].sum() == 41_737  # the 8-30g gap of the 2019 list
    assert set(gap["step"]) == {"gap_to_threshold"} and set(fair["step"]) == {"fair_share"}

    sweeps = pd.read_csv(tables / "scenario_sensitivity.csv", dtype={"geography_id": str})
    take_up = sweeps[
        (sweeps["sweep"] == "mobility_take_up")
        & (sweeps["geography_level"] == "state")
        & (sweeps["metric"] == "dissimilarity:black_nh:white_nh")
    ]
    assert take_up.sort_values("parameter_value")["delta"].is_monotonic_decreasing


@pytest.mark.e2e
def test_hud_counts_enter_the_siting_metrics(tmp_path_factory, shared_data):
    """Synthetic HUD files (tests/fixtures/hud, in HUD's formats) in a mirror beside the real
    data: their counts become siting programs, withheld tracts are counted, never zero."""
    mirror = tmp_path_factory.mktemp("hud-mirror")
    for folder in shared_data.iterdir():
        (mirror / folder.name).symlink_to(folder)
    for folder in ("hud-psh", "hud-hcv", "hud-lihtc"):
        (mirror / folder).mkdir()
    (mirror / "hud-psh" / "TRACT_AK_MN_2023_2020census.xlsx").write_bytes(
        workbook_bytes(HUD_FIXTURES / "psh_tract_2023.csv")
    )
    shutil.copy(HUD_FIXTURES / "hcv_tract_state09.json",
                mirror / "hud-hcv" / "hcv_2025_tract_state09.json")  # fmt: skip
    shutil.copy(HUD_FIXTURES / "lihtc_egis_state09.json",
                mirror / "hud-lihtc" / "lihtc_egis_2024_state09.json")  # fmt: skip
    (mirror / "hud-lihtc" / "lihtcpub_2024.zip").write_bytes(
        zip_bytes({"LIHTCPUB.CSV": (HUD_FIXTURES / "lihtcpub.csv").read_bytes()})
    )
    workdir = new_workdir(tmp_path_factory, "hud-run")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["subsidized"]["hud"] = {"psh_year": 2023, "voucher_vintage": 2025, "lihtc_vintage": 2024}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    # Only the subsidized stage and its chart: the rest of the run is tested elsewhere.
    result = snakemake(
        workdir, "--cores", "2", "--until", "collect_subsidized", "plot_siting_shares",
        "--config", f"mirror={mirror}", NO_SCENARIOS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]

    (version,) = (workdir / "results").glob("acs2023_*")
    tables = version / "tables"
    assert not (tables / "scenarios.csv").exists()
    metrics = pd.read_csv(tables / "siting_metrics.csv", dtype={"geography_id": str})
    state = metrics[metrics["geography_level"] == "state"].set_index(["program", "metric"])
    tracts = set(gpd.read_parquet(tables / "subsidized_by_tract.parquet")["geoid"])
    features = json.loads((HUD_FIXTURES / "hcv_tract_state09.json").read_text())["features"]
    in_run = [f["attributes"] for f in features if f["attributes"]["GEOID"] in tracts]
    known = [a["HCV_PUBLIC"] for a in in_run if a["HCV_PUBLIC"] is not None]
    assert state.loc[("hud_hcv_households", "units"), "value"] == sum(known)
    assert state.loc[("hud_hcv_households", "tracts_suppressed"), "value"] == len(in_run) - len(
        known
    )
    # PSH's summary rows of the fixture's tracts that are Connecticut's (4001.01, 4001.02).
    assert state.loc[("hud_psh_all_programs_units", "units"), "value"] == 190 + 40
    assert ("hud_lihtc_units", "units") in state.index
    # The inventory's programs are unchanged by HUD's presence.
    assert state.loc[("assisted_units_total", "units"), "value"] == 86_964
    assert (tables.parent / "figures" / "siting_shares_09_2023.png").stat().st_size > 0


@pytest.mark.e2e
def test_provenance_records_inputs_and_never_the_key(mirror_run, shared_data):
    latest = mirror_run / "results" / "latest"
    provenance = json.loads((latest / "provenance.json").read_text())
    inputs = {record["layout_path"]: record for record in provenance["inputs"]}
    assert set(inputs) == {
        "census-api/acs5_2019_tract_state09.json",
        "census-api/acs5_2023_tract_state09.json",
        "boundaries/cb_2019_09_tract_500k.geojson",
        "boundaries/cb_2020_09_tract_500k.geojson",
        "boundaries/cb_2020_09_cousub_500k.geojson",
        "crosswalks/ct_tract_2020_to_2022.csv",
        "delineations/cbsa_2020_state09.csv",
        "ct-housing/assisted_housing_projects.csv",
        *(
            f"ct-housing/affordable-housing-appeals-list/{workbook.name}"
            for workbook in (shared_data / "ct-housing/affordable-housing-appeals-list").iterdir()
        ),
    }
    for layout_path, record in inputs.items():
        real = shared_data / layout_path
        assert record["source"] == "mirror"
        assert record["bytes"] == real.stat().st_size
        assert record["sha256"] == hashlib.sha256(real.read_bytes()).hexdigest()
    assert provenance["config"]["years"] == [2019, 2023]
    assert provenance["results_version"] == latest.resolve().name
    assert provenance["software"]["snakemake"]
    assert "commit" in provenance["git"]
    code = provenance["code"]
    assert code["Snakefile"] == hashlib.sha256((ROOT / "Snakefile").read_bytes()).hexdigest()
    assert "requirements.lock" in code
    assert "workflow/scripts/housing_segregation/indices.py" in code
    for path in (mirror_run / "results").rglob("*"):
        if path.is_file():
            assert API_KEY_SENTINEL.encode() not in path.read_bytes(), path


def audit(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`make audit` / `make freeze` as a reviewer runs them in ``workdir``."""
    return subprocess.run(
        [sys.executable, "-m", "housing_segregation.audit", *args],
        cwd=workdir, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.e2e
def test_rerun_does_nothing_and_the_audit_reproduces_every_output(mirror_run, shared_data):
    """The audit reruns the version from its recorded config and inputs into a scratch
    folder: every figure (PNG, SVG, PDF), table and data file comes out byte-identical."""
    args = ("--config", f"mirror={shared_data}", "years=[2019,2023]", *FEWER_DRAWS)
    again = snakemake(mirror_run, "--dry-run", *args)
    assert again.returncode == 0, again.stderr
    assert "Nothing to be done" in again.stdout + again.stderr
    version_dir = (mirror_run / "results" / "latest").resolve()
    manifest = (version_dir / "MANIFEST.sha256").read_text()
    listed = [line.split("  ", 1)[1] for line in manifest.splitlines()]
    assert {Path(path).suffix for path in listed} >= {".png", ".svg", ".pdf", ".csv", ".parquet"}
    result = audit(mirror_run, "check", "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for path in listed:
        assert f"PASS  output    {path}" in lines
    assert lines[-1].startswith(f"audit of {version_dir.name}: PASS (0 failed")
    rerun_dir = mirror_run / ".audit" / version_dir.name / "run" / "results" / version_dir.name
    assert (rerun_dir / "MANIFEST.sha256").read_text() == manifest


@pytest.mark.e2e
def test_the_audit_names_a_changed_output_or_raw_input_byte(mirror_run, tmp_path):
    """Runs after the passing audit, whose rerun it reuses."""
    version = (mirror_run / "results" / "latest").resolve().name
    table = mirror_run / "results" / version / "tables" / "indices.csv"
    original = table.read_bytes()
    table.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    try:
        changed = audit(mirror_run, "check", "--reuse-scratch", "--cores", "2")
    finally:
        table.write_bytes(original)
    assert changed.returncode == 1, changed.stderr[-3000:]
    assert "FAIL  output    tables/indices.csv: here differs from MANIFEST.sha256" in changed.stdout
    assert "PASS  output    tables/scenarios.csv" in changed.stdout

    # A frozen archive, packed twice to the same bytes, with one raw input byte changed.
    frozen = tmp_path / "frozen.tar.gz"
    digests_of_packs = []
    for _ in range(2):
        packed = audit(mirror_run, "freeze", "--output", str(frozen))
        assert packed.returncode == 0, packed.stderr[-3000:]
        digests_of_packs.append(hashlib.sha256(frozen.read_bytes()).hexdigest())
    assert digests_of_packs[0] == digests_of_packs[1]
    with tarfile.open(frozen) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    acs = tmp_path / "unpacked" / version / "inputs" / "census-api" / "acs5_2023_tract_state09.json"
    acs.write_text(acs.read_text().replace('"2833"', '"2834"', 1))
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as archive:
        archive.add(tmp_path / "unpacked" / version, arcname=version)
    result = audit(mirror_run, "check", "--frozen", str(tampered), "--scratch", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "FAIL  input     census-api/acs5_2023_tract_state09.json: " in result.stdout, (
        result.stdout[-3000:]
    )
    assert "FAIL  rerun" in result.stdout and "not attempted" in result.stdout


class CensusLikeServer(http.server.ThreadingHTTPServer):
    """A loopback stand-in for the Census hosts, answering from the real shared data in the
    formats the real endpoints use: API JSON for the requested columns, zip shapefiles."""

    def __init__(self, shared_data: Path, scratch: Path):
        super().__init__(("127.0.0.1", 0), CensusLikeHandler)
        self.shared_data = shared_data
        self.scratch = scratch
        self.requests_seen: list[str] = []


class CensusLikeHandler(http.server.BaseHTTPRequestHandler):
    server: CensusLikeServer

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.server.requests_seen.append(self.path)
        acs = re.fullmatch(r"/data/(\d{4})/acs/acs5", url.path)
        shapes = re.fullmatch(
            r"/geo/tiger/GENZ(\d{4})/shp/(cb_\d{4}_\d{2}_\w+_500k)\.zip", url.path
        )
        if acs:
            query = urllib.parse.parse_qs(url.query)
            table = json.loads(
                (
                    self.server.shared_data / f"census-api/acs5_{acs[1]}_tract_state09.json"
                ).read_text()
            )
            wanted = [*query["get"][0].split(","), "state", "county", "tract"]
            columns = [table[0].index(name) for name in wanted]
            body = json.dumps([[row[i] for i in columns] for row in table]).encode()
        elif shapes:
            body = self._zipped_shapefile(shapes[2])
        elif url.path == "/rel2020/tract/tab20_tract20_tract10_natl.txt":
            body = SYNTHETIC_TRACT_RELATIONSHIPS
        elif url.path == "/crosswalk.csv":
            body = (self.server.shared_data / "crosswalks/ct_tract_2020_to_2022.csv").read_bytes()
        elif url.path == "/delineation/list1_2020.xlsx":
            body = self._national_workbook()
        elif url.path == "/ctdoh/inventory.csv":
            body = (
                self.server.shared_data / "ct-housing/assisted_housing_projects.csv"
            ).read_bytes()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
        self.end_headers()
        self.wfile.write(body)

    def _national_workbook(self) -> bytes:
        """The delineation rows as the Census publishes them: a workbook with two title
        lines above the header (only Connecticut's rows exist in the shared data)."""
        rows = pd.read_csv(
            self.server.shared_data / "delineations/cbsa_2020_state09.csv", dtype=str
        )
        title = pd.DataFrame([["List 1. CORE BASED STATISTICAL AREAS"], [None]])
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer) as writer:
            title.to_excel(writer, header=False, index=False)
            rows.to_excel(writer, startrow=2, index=False)
        return buffer.getvalue()

    def _zipped_shapefile(self, stem: str) -> bytes:
        import geopandas as gpd

        folder = self.server.scratch / stem
        folder.mkdir(exist_ok=True)
        gpd.read_file(self.server.shared_data / f"boundaries/{stem}.geojson").to_file(
            folder / f"{stem}.shp"
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for part in sorted(folder.iterdir()):
                archive.write(part, part.name)
        return buffer.getvalue()


@pytest.mark.e2e
def test_download_mode_end_to_end(tmp_path_factory, shared_data, mirror_run):
    """With no mirror, the download rules fetch every input (from a loopback server in the
    real formats), record its provenance, and give the same indices as the mirror run."""
    workdir = new_workdir(tmp_path_factory, "download")
    server = CensusLikeServer(shared_data, tmp_path_factory.mktemp("served"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["years"] = [2019, 2023]
    config["download"].update(
        census_api_base=f"{base}/data", boundaries_base=f"{base}/geo/tiger", backoff_seconds=0,
        relationship_files_base=base,
    )  # fmt: skip
    config["tract_geoid_crosswalks"]["09"]["url"] = f"{base}/crosswalk.csv"
    config["planning_regions"]["09"]["url"] = f"{base}/crosswalk.csv"
    config["cbsa_delineation_urls"] = {"2020": f"{base}/delineation/list1_2020.xlsx"}
    # The server has Connecticut only: Worcester is measured from it alone, as in the mirror.
    config["cbsa_other_states"] = False
    config["subsidized"]["project_inventories"]["09"]["url"] = f"{base}/ctdoh/inventory.csv"
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    # The 8-30g workbooks have no URL: a user puts them in the raw cache by hand.
    lists = "ct-housing/affordable-housing-appeals-list"
    shutil.copytree(shared_data / lists, workdir / "resources" / lists)
    try:
        # Up to the provenance record: every download and table, none of the figures (the
        # mirror run draws those from the same tables).
        result = snakemake(
            workdir, "--cores", "2", "--until", "record_provenance",
            "--config", *FEWER_DRAWS, NO_SCENARIOS, env_key=True,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-5000:]
    [version] = (workdir / "results").glob("acs*")
    api_requests = [r for r in server.requests_seen if r.startswith("/data/")]
    assert len(api_requests) == 4  # 2 years x 2 chunks of at most 49 variables
    assert all(f"key={API_KEY_SENTINEL}" in r for r in api_requests)

    downloaded = (version / "tables" / "indices.csv").read_text()
    mirrored = (mirror_run / "results" / "latest" / "tables" / "indices.csv").read_text()
    assert downloaded == mirrored

    provenance = json.loads((version / "provenance.json").read_text())
    placed = [r for r in provenance["inputs"] if r["layout_path"].startswith(lists)]
    assert len(placed) == 18 and {r["source"] for r in placed} == {"placed"}
    for record in provenance["inputs"]:
        if record in placed:
            continue
        assert record["source"] == "download"
        assert record["url"].startswith(base)
        assert all(response["url"].startswith(base) for response in record["responses"])
        local = workdir / "resources" / record["layout_path"]
        assert record["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    assert {r["layout_path"] for r in provenance["inputs"]} >= {
        "boundaries/cb_2020_09_tract_500k.zip",
        "census-api/acs5_2023_tract_state09.json",
        "census-rel2020/tab20_tract20_tract10_natl.txt",
        "ct-housing/assisted_housing_projects.csv",
    }
    for name in ("siting_metrics.csv", "town_assisted_share.csv", "siting_model.csv"):
        downloaded = (version / "tables" / name).read_text()
        assert downloaded == (mirror_run / "results" / "latest" / "tables" / name).read_text()
    for path in workdir.rglob("*"):
        if path.is_file():
            assert API_KEY_SENTINEL.encode() not in path.read_bytes(), path


@pytest.mark.e2e
def test_changed_input_under_the_same_version_is_refused(mirror_run, shared_data, tmp_path):
    """A raw input edited under the same name must not rewrite the version's numbers."""
    mirror = tmp_path / "mirror"
    for folder in ("census-api", "boundaries", "crosswalks", "delineations", "ct-housing"):
        shutil.copytree(shared_data / folder, mirror / folder)
    acs = mirror / "census-api" / "acs5_2023_tract_state09.json"
    acs.write_text(acs.read_text().replace('"2833"', '"2834"', 1))
    table = mirror_run / "results" / "latest" / "tables" / "indices.csv"
    before = table.read_bytes()
    result = snakemake(
        mirror_run, "--cores", "2", "--config", f"mirror={mirror}", "years=[2019,2023]",
        *FEWER_DRAWS,
    )  # fmt: skip
    assert result.returncode != 0
    assert "census-api/acs5_2023_tract_state09.json" in result.stderr + result.stdout
    assert "never rewritten" in result.stderr + result.stdout
    assert table.read_bytes() == before


@pytest.mark.e2e
def test_every_table_has_a_matching_schema_and_the_headlines_are_rendered(mirror_run):
    """Each table under tables/ has its data dictionary beside it, naming its columns in
    order with a type and a description, and carrying a year and a geography; the headline
    renderings exist, state their units and source, and carry no time stamp."""
    tables = mirror_run / "results" / "latest" / "tables"
    data_tables = sorted([*tables.glob("*.csv"), *tables.glob("*.parquet")])
    assert len(data_tables) >= 13
    for table in data_tables:
        schema_file = table.with_name(f"{table.stem}.schema.json")
        assert schema_file.is_file(), schema_file.name
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        names = [field["name"] for field in schema["fields"]]
        if table.suffix == ".csv":
            header = table.read_text(encoding="utf-8").split("\n", 1)[0]
            assert header.split(",") == names, table.name
        else:
            assert list(pd.read_parquet(table).columns) == names, table.name
        assert all(field["type"] and field["description"] for field in schema["fields"])
        assert {"year", "geography_level"} <= set(names), table.name
        assert set(schema.get("primaryKey", [])) <= set(names), table.name
    assert not list(tables.glob("*.txt.schema.json"))
    for name, source in (
        ("indices_headline.md", "indices.csv"),
        ("scenarios_headline.md", "scenarios.csv"),
        ("siting_headline.md", "siting_metrics.csv"),
    ):
        text = (tables / name).read_text(encoding="utf-8")
        assert f"Source: `tables/{source}`" in text, name
        assert "Units:" in text and "rounded to" in text and "Year(s):" in text, name
        assert "\n| " in text, name
        assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text), name
    headline = (tables / "indices_headline.md").read_text(encoding="utf-8")
    assert "## Connecticut (09), ACS 2019" in headline
    assert "## Connecticut (09), ACS 2023" in headline


@pytest.mark.e2e
def test_report_and_captions_cover_every_figure(mirror_run, shared_data, tmp_path):
    """`make report`: Snakemake's report of the run holds every figure (all three formats),
    table and provenance file, each with a caption; figures/captions.md lists every figure
    of the version with its caption and alt text."""
    latest = (mirror_run / "results" / "latest").resolve()
    figures = sorted(path.stem for path in (latest / "figures").glob("*.png"))
    assert len(figures) >= 15
    factsheets = sorted(path.stem for path in (latest / "figures").glob("factsheet_*.pdf"))
    assert factsheets == ["factsheet_09_2023"]
    captions = (latest / "figures" / "captions.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", captions, flags=re.M)[1:]
    assert sorted(section.split("\n", 1)[0] for section in sections) == sorted(figures + factsheets)
    for section in sections:
        stem = section.split("\n", 1)[0]
        files = f"`{stem}.pdf`" if stem in factsheets else (
            f"`{stem}.png`, `{stem}.svg`, `{stem}.pdf`"
        )  # fmt: skip
        assert f"- Files: {files}\n" in section
        alt_text = re.search(r"^\*\*Alt text\.\*\* (\S.+)$", section, flags=re.M)
        assert alt_text and len(alt_text.group(1)) > 100, stem
        assert "**Caption.**" in section and "Data:" in section, stem
    report = tmp_path / "report.zip"
    result = snakemake(
        mirror_run, "--report", str(report), "--config", f"mirror={shared_data}",
        "years=[2019,2023]", *FEWER_DRAWS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    with zipfile.ZipFile(report) as archive:
        assert archive.testzip() is None
        stored = {name.rsplit("/", 1)[-1] for name in archive.namelist()}
        html = archive.read("report/report.html").decode("utf-8")
    for stem in figures:
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf"} <= stored, stem
    assert "factsheet_09_2023.pdf" in stored
    tables = {
        path.name
        for path in (latest / "tables").iterdir()
        if path.suffix in {".csv", ".parquet", ".txt", ".md", ".json"}
    }
    assert len(tables) >= 13 + 13 + 3  # tables, their data dictionaries, headline tables
    assert tables <= stored
    assert {"provenance.json", "MANIFEST.sha256"} <= stored
    for category in ("Measurement", "Subsidized housing", "Scenarios", "Provenance",
                     "Fact sheet", "Headline tables"):  # fmt: skip
        assert f'"{category}"' in html, category
    for period in ("2015", "2019"), ("2019", "2023"):  # subcategories: state and ACS period
        assert re.search(rf"CT \(09\), ACS {period[0]}(\\u2013|–){period[1]}", html), period
    # Every result has its caption, the workflow its description.
    assert '"caption": ""' not in html
    assert html.count("American Community Survey") >= len(figures)
    assert "docs/methods.md" in html


def synthetic_block_group_mirror(shared_data: Path, mirror: Path) -> None:
    """A mirror of ../shared/data plus SYNTHETIC block groups for Connecticut 2023, which
    ../shared/data does not hold: each real tract's polygon cut in two at its centroid's
    longitude (block groups 1 and 2), each half given the tract's whole published row
    (counts and MOEs), in the API's and the cartographic files' real layouts."""
    link_mirror(shared_data, mirror)
    tract_table = shared_data / "census-api/acs5_2023_tract_state09.json"
    header, *rows = json.loads(tract_table.read_text())
    table = [[*header, "block group"]]
    for row in rows:
        for block_group in ("1", "2"):
            table.append([f"Block Group {block_group}; {row[0]}", *row[1:], block_group])
    (mirror / "census-api/acs5_2023_block_group_state09.json").write_text(json.dumps(table))
    tracts = gpd.read_file(shared_data / "boundaries/cb_2020_09_tract_500k.geojson")
    halves = []
    for tract in tracts.itertuples():
        west, south, east, north = tract.geometry.bounds
        middle = tract.geometry.centroid.x
        for block_group, (left, right) in (("1", (west, middle)), ("2", (middle, east))):
            halves.append({
                "GEOID": tract.GEOID + block_group, "STATEFP": tract.STATEFP,
                "COUNTYFP": tract.COUNTYFP, "TRACTCE": tract.TRACTCE, "BLKGRPCE": block_group,
                "geometry": tract.geometry.intersection(box(left, south, right, north)),
            })  # fmt: skip
    gpd.GeoDataFrame(halves, crs=tracts.crs).to_file(
        mirror / "boundaries/cb_2020_09_bg_500k.geojson", driver="GeoJSON"
    )


@pytest.mark.e2e
def test_block_groups_end_to_end(tmp_path_factory, shared_data, mirror_run):
    """`unit_level: block_group` from the raw layout to indices.csv. Each SYNTHETIC block
    group carries its whole tract's counts, so every index that is a sum of shares over units
    (D, Gini, isolation, interaction) keeps its tract value: doubling every unit doubles each
    group's total and halves every share, term by term. Units and population double."""
    mirror = tmp_path_factory.mktemp("block-group-mirror")
    synthetic_block_group_mirror(shared_data, mirror)
    workdir = new_workdir(tmp_path_factory, "block-groups")
    result = snakemake(
        workdir, "--cores", "2", "collect_indices", "--config", f"mirror={mirror}",
        "years=[2023]", "unit_level=block_group", "uncertainty={draws: 20}",
        "inference={bias_correction_draws: 10, permutations: 19}", NO_SCENARIOS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    [version] = (workdir / "results").glob("acs2023_*")
    units = gpd.read_parquet(version / "data" / "block_groups_09_2023.parquet")
    assert units["geoid"].str.len().eq(12).all()
    assert (units["tract_geoid"] == units["geoid"].str[:11]).all()
    assert set(units["geography_level"]) == {"block_group"}

    def state_rows(path: Path) -> pd.DataFrame:
        table = pd.read_csv(path, dtype={"geography_id": str})
        rows = table[(table["year"] == 2023) & (table["geography_level"] == "state")]
        rows = rows[rows["index"].isin(["dissimilarity", "gini", "isolation", "interaction"])]
        return rows.set_index(["index", "group", "reference_group"]).sort_index()

    block_groups = state_rows(version / "tables" / "indices.csv")
    tracts = state_rows(mirror_run / "results" / "latest" / "tables" / "indices.csv")
    assert set(block_groups["unit_level"]) == {"block_group"}
    assert len(block_groups) == len(tracts) > 20
    assert np.allclose(block_groups["value"], tracts["value"], rtol=0, atol=1e-9)
    assert (block_groups["n_units"] == 2 * tracts["n_units"]).all()
    assert np.allclose(block_groups["population"], 2 * tracts["population"])
