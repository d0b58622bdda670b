"""Benchmark: the measurement stage of Connecticut 2023, as the pipeline runs it.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_connecticut.py             # wall, CPU, traced peak
    .venv/bin/python benchmarks/benchmark_connecticut.py --no-trace  # wall and CPU only

It builds Connecticut's 2023 tract table from the real data in ../shared/data as the
normalisation rule does, then calls `housing_segregation.measure.compute_indices` as
workflow/scripts/compute_indices.py does, with config/config.yaml's settings (every index at
every level, the configured Monte Carlo draws, the bias-corrected D and the random-allocation
test): BLAS on one thread, the inference on 2 threads (a lone state-year job gets the
machine's cores). It prints the wall and CPU time of that call and, unless `--no-trace`,
the peak of the memory that Python allocates during it (tracemalloc, which slows NumPy's
allocations a little; the README's figure is traced).
"""

from __future__ import annotations

import argparse
import logging
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

# benchmark_scenarios puts the library on sys.path, and reads config/config.yaml as the
# workflow does (validated, with the schema's defaults).
from benchmark_scenarios import ROOT, load_config  # isort: skip
from housing_segregation.config import state_year_seed  # isort: skip
from housing_segregation.measure import compute_indices  # isort: skip
from housing_segregation.tracts import build_unit_table_from_layout  # isort: skip

STATE, YEAR = "09", 2023


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2, help="threads of the inference")
    parser.add_argument("--no-trace", action="store_true", help="skip tracemalloc")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the stage's log lines, not the timings
    config, _ = load_config()
    units = build_unit_table_from_layout(args.shared_data, config, state=STATE, year=YEAR)
    centroids = units.geometry.centroid
    uncertainty = config["uncertainty"]
    print(f"Connecticut {YEAR}: {len(units)} tracts; {uncertainty['draws']} draws; "
          f"inference {config['inference']} on {args.threads} thread(s)")  # fmt: skip
    if not args.no_trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=1):
        table = compute_indices(
            units,
            groups=config["groups"],
            reference_group=config["reference_group"],
            unit_level="tract",
            minimum_units=config["minimum_units"],
            draws=uncertainty["draws"],
            interval_level=uncertainty["level"],
            seed=state_year_seed(uncertainty["seed"], STATE, YEAR),
            centroids=np.column_stack([centroids.x, centroids.y]),
            unit_areas=units.geometry.area.to_numpy(),
            radii=config["spatial"]["radii_m"],
            inference=config["inference"],
            threads=args.threads,
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    traced = "" if args.no_trace else (
        f", peak traced {tracemalloc.get_traced_memory()[1] / 2**20:,.0f} MiB"
    )  # fmt: skip
    print(f"compute_indices: {len(table):,} rows in {wall:.1f} s wall, {cpu:.1f} s CPU{traced}")


if __name__ == "__main__":
    main()
