"""Benchmark: Snakemake's own overhead, as the dry run of a national, many-year run.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_dryrun.py                  # states: all, 2010-2024
    .venv/bin/python benchmarks/benchmark_dryrun.py --years 2019 2023 --states 09 25 44
    .venv/bin/python benchmarks/benchmark_dryrun.py --profile dryrun.prof   # cProfile it

What it measures: `snakemake --dry-run` of the repository's Snakefile in a fresh temporary
working directory, with config/config.yaml changed to `states: all` (the 50 states and DC) and
15 ACS years (2010-2024) in download mode (no mirror, so no raw input exists yet and every
download is planned). It prints the wall time of the whole command (Python start-up, parsing,
config validation, the input functions and the DAG) and the number of jobs the dry run plans.
No network is used: a dry run only plans.

The cross-state CBSA jobs (`compute_cbsa_indices`, about a hundred CBSAs a year nationally)
are not in the count: they come after the checkpoint `list_cross_state_cbsas`, which a dry run
plans but does not run (the CBSA delineations are not there yet). Every other job is counted.
With the SLURM executor plugin installed and an `scontrol` that finds no controller, each
Snakemake start waits about 9 s for it (`scontrol show config` at import); that wait is in
the time printed.
Target (issue 7): under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: The issue's configuration: every state, 15 ACS years.
DEFAULT_YEARS = list(range(2010, 2025))


def write_config(workdir: Path, states: str | list[str], years: list[int]) -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    config.update(states=states, years=years, mirror=None)
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    shutil.copy(ROOT / "config" / "scenarios.yaml", workdir / "config" / "scenarios.yaml")


def dry_run(workdir: Path, profile: str | None) -> tuple[float, subprocess.CompletedProcess]:
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", str(Path(profile).resolve())]
    command += ["-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
                "--directory", str(workdir), "--dry-run", "--quiet", "rules"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, result


def job_count(output: str) -> int:
    """The total of Snakemake's job-stats table."""
    totals = re.findall(r"^total\s+(\d+)", output, flags=re.M)
    if not totals:
        raise ValueError(f"no job count in the dry run's output:\n{output[-3000:]}")
    return int(totals[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", nargs="+", default=["all"], help='FIPS codes, or "all"')
    parser.add_argument("--years", nargs="+", type=int, default=DEFAULT_YEARS)
    parser.add_argument("--profile", help="write a cProfile of the dry run to this file")
    args = parser.parse_args()
    states = "all" if args.states == ["all"] else args.states
    with tempfile.TemporaryDirectory(prefix="dryrun_") as folder:
        workdir = Path(folder)
        write_config(workdir, states, args.years)
        seconds, result = dry_run(workdir, args.profile)
    if result.returncode != 0:
        sys.exit(f"the dry run failed:\n{result.stderr[-5000:]}")
    jobs = job_count(result.stdout + result.stderr)
    print(f"states: {states if isinstance(states, str) else ' '.join(states)}; "
          f"years: {args.years[0]}-{args.years[-1]} ({len(args.years)})")  # fmt: skip
    print(f"dry run: {seconds:.1f} s wall, {jobs} jobs")


if __name__ == "__main__":
    main()
