"""The workflow's plan for CBSAs that cross state lines, by dry run (no network, no mirror).

A Connecticut run in download mode: once the checkpoint has listed Worcester, MA-CT from
Connecticut's delineation, the plan downloads and normalises Massachusetts' 2023 tracts and
measures Worcester from both states. (`cbsa_other_states: false` runs end to end in
tests/test_pipeline.py's download test, whose server has Connecticut alone; the mirror run
there gives Worcester's partial rows.)
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DELINEATION = "delineations/cbsa_2020_state09.csv"


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def planned_jobs(output: str, field: str = "output") -> dict[str, list[str]]:
    """Rule -> the output (or input) paths of its planned jobs, from a dry run's listing."""
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"^(?=(?:local)?(?:rule|checkpoint) )", output, flags=re.M):
        head = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if head:
            paths = re.search(rf"^\s+{field}: (.*)$", block, flags=re.M)
            jobs.setdefault(head[1], []).extend(paths[1].split(", ") if paths else [])
    return jobs


@pytest.fixture(scope="module")
def listed(tmp_path_factory, shared_data):
    """A download-mode Connecticut 2023 workdir whose checkpoint has run: the delineation
    is put in the raw cache (with a stand-in download record), so no network is needed."""
    workdir = tmp_path_factory.mktemp("cross_state")
    (workdir / "config").mkdir()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(states=["09"], years=[2023], mirror=None)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "config" / "scenarios.yaml", workdir / "config" / "scenarios.yaml")
    cached = workdir / "resources" / DELINEATION
    cached.parent.mkdir(parents=True)
    shutil.copy(shared_data / DELINEATION, cached)
    record = workdir / "resources" / "download-records" / f"{DELINEATION}.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}\n")
    result = snakemake(workdir, "--cores", "1", "--until", "list_cross_state_cbsas")
    assert result.returncode == 0, result.stderr[-3000:]
    [listing] = workdir.glob("results/*/data/cross_state_cbsas.csv")
    assert listing.read_text().splitlines()[1:] == ['2020,49340,"Worcester, MA-CT",09 25']
    return workdir


def test_other_states_are_downloaded_for_a_cross_state_cbsa(listed):
    result = snakemake(listed, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    # Massachusetts' inputs are fetched and its tracts normalised, for Worcester alone.
    assert any(path.endswith("acs5_2023_tract_state25.json") for path in jobs["download_acs"])
    assert sorted(Path(p).name for p in jobs["normalise_units"]) == [
        "tracts_09_2023.parquet",
        "tracts_25_2023.parquet",
    ]
    assert [Path(p).name for p in jobs["compute_cbsa_indices"]] == ["cbsa_indices_49340_2023.csv"]
    # Each state-year's own job stays Connecticut's: no Massachusetts indices or figures.
    assert [Path(p).name for p in jobs["compute_indices"]] == ["indices_09_2023.csv"]
    assert "compute_cbsa_indices_49340_2023" in result.stdout  # its log and benchmark
    # Connecticut's R/ECAP thresholds take Worcester's mean over both states' tracts.
    recap_inputs = sorted(Path(p).name for p in planned_jobs(result.stdout, "input")["flag_recaps"])
    assert recap_inputs == ["cross_state_cbsas.csv", "tracts_09_2023.parquet",
                            "tracts_25_2023.parquet"]  # fmt: skip


def test_the_slurm_profile_names_only_rules_of_the_workflow():
    # A misspelt rule in the profile is silently ignored by Snakemake: no threads, memory
    # or group for the rule meant.
    rules = set()
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        rules |= set(re.findall(r"^(?:rule|checkpoint) (\w+):", path.read_text(), flags=re.M))
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for key in ("set-threads", "set-resources", "groups"):
        assert set(profile[key]) <= rules, (key, sorted(set(profile[key]) - rules))
    assert set(profile["group-components"]) == set(profile["groups"].values())
    figures = {rule for rule in rules if rule.startswith(("map_", "plot_"))}
    assert set(profile["groups"]) == figures
