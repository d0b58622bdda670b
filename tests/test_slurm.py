"""The workflow on a real SLURM cluster, through Snakemake's SLURM executor plugin and the
shipped profile (profiles/slurm/).

A single-node cluster (Debian's slurm-wlm and munge, started as root by
tests/slurm/start_cluster.sh) runs the whole Connecticut 2023 pipeline from the mirror
(every rule: measurement, subsidized housing, scenarios, figures, fact sheet, provenance),
with the Monte Carlo draws cut as in tests/test_pipeline.py; every output must match a
local run of the same settings byte for byte. This tier is slow (SLURM polls jobs): `make
test` leaves it out, `make test-cluster` runs it, and `.ci/run` runs both, with the
cluster started. Where no cluster is running the
tests skip, unless HOUSING_SEGREGATION_REQUIRE_SLURM is set (as CI sets it), when they fail.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_pipeline import FEWER_DRAWS, ROOT, digests, new_workdir, snakemake

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster() -> None:
    """A running cluster whose node takes jobs."""
    state = ""
    if shutil.which("sinfo"):
        state = subprocess.run(
            ["sinfo", "--noheader", "--format=%t"], capture_output=True, text=True, check=False
        ).stdout
    if not any(ready in state.split() for ready in ("idle", "mix", "alloc")):
        why = f"no SLURM node ready (sinfo: {state.strip() or 'not found'}); "
        why += "start one as root with tests/slurm/start_cluster.sh"
        if os.environ.get("HOUSING_SEGREGATION_REQUIRE_SLURM"):
            pytest.fail(why)
        pytest.skip(why)


def version_dir(workdir: Path) -> Path:
    [version] = [path for path in (workdir / "results").iterdir() if path.name != "latest"]
    return version


def test_connecticut_on_slurm_matches_a_local_run(cluster, tmp_path_factory, shared_data):
    args = ("--config", f"mirror={shared_data}", "years=[2023]", *FEWER_DRAWS)
    local = new_workdir(tmp_path_factory, "local")
    result = snakemake(local, "--cores", "2", *args)
    assert result.returncode == 0, result.stderr[-5000:]

    on_cluster = new_workdir(tmp_path_factory, "slurm")
    result = snakemake(on_cluster, "--profile", str(ROOT / "profiles" / "slurm"), *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    # The jobs ran as SLURM jobs (the plugin keeps each job's log under its rule).
    logs = on_cluster / ".snakemake" / "slurm_logs"
    for rule in ("normalise_units", "compute_indices", "scenario", "factsheet_pdf"):
        assert list((logs / f"rule_{rule}").rglob("*.log")), rule
    # The figures went as grouped jobs (profiles/slurm: `groups`), not one job each.
    assert list(logs.glob("group_*/**/*.log")), sorted(path.name for path in logs.iterdir())
    assert not (logs / "rule_map_recaps").exists()

    version = version_dir(local)
    assert version_dir(on_cluster).name == version.name
    here, there = digests(version), digests(version_dir(on_cluster))
    assert len(here) > 50  # every table, figure and intermediate table of the run
    assert there == here, sorted(name for name in here if there.get(name) != here[name])
    for name in ("MANIFEST.sha256", "provenance.json"):
        assert (version_dir(on_cluster) / name).read_bytes() == (version / name).read_bytes()
