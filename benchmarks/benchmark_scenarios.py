"""Benchmark: policy scenarios on Connecticut 2023, as the pipeline runs them, in one run.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_scenarios.py             # 1,000 draws
    .venv/bin/python benchmarks/benchmark_scenarios.py --draws 200

It builds the state's tables from the real data in ../shared/data the way the pipeline does
(tracts, R/ECAPs, assisted units per tract, the 8-30g town table), then times:

- the baseline's measurement (every index at every level, R/ECAPs, the other outcomes) over
  the Monte Carlo draws;
- each preset of config/scenarios.yaml on one core: its steps and its measurement;
- the presets on 2 cores, two worker processes as Snakemake runs two jobs at once;
- one scenario with the spatial and geometric indices too (`scenarios.spatial_indices`).

It prints seconds and Monte Carlo draws evaluated per second, and whether the issue's
target holds: 1,000 draws of a scenario, all indices at all levels, under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from housing_segregation import recap, scenario_run, subsidized  # noqa: E402
from housing_segregation.config import (  # noqa: E402
    load_schema,
    validate_config,
    validate_scenarios,
)
from housing_segregation.tracts import build_unit_table_from_layout  # noqa: E402

TARGET_SECONDS = 30


def load_config() -> tuple[dict, dict]:
    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as handle:
        config = validate_config(
            yaml.safe_load(handle), load_schema(ROOT / "workflow/schemas/config.schema.yaml")
        )
    with open(ROOT / "config" / "scenarios.yaml", encoding="utf-8") as handle:
        presets = validate_scenarios(
            yaml.safe_load(handle),
            load_schema(ROOT / "workflow/schemas/scenarios.schema.yaml"),
            "config/scenarios.yaml",
        )
    return config, presets


def stage_inputs(shared_data: Path, config: dict) -> scenario_run.StageInputs:
    """Connecticut 2023's tables, built as the pipeline's rules build them."""
    tracts = build_unit_table_from_layout(shared_data, config, state="09", year=2023)
    recaps = recap.recap_table(tracts, config["recap"])
    inventory = shared_data / config["subsidized"]["project_inventories"]["09"]["path"]
    by_tract, _ = subsidized.subsidized_by_tract(inventory, tracts)
    lists = config["subsidized"]["town_lists"]["09"]["files"]
    town_shares = subsidized.town_assisted_share(
        {year: shared_data / spec["path"] for year, spec in lists.items()}, tracts
    )
    return scenario_run.StageInputs(tracts, recaps, by_tract, town_shares=town_shares)


def settings(config: dict, spatial: bool) -> dict:
    return {
        "region": config["scenarios"]["region"],
        "spatial_indices": spatial,
        "seed": [config["uncertainty"]["seed"], 2023, 9],
        "interval_level": config["uncertainty"]["level"],
        "groups": config["groups"],
        "reference_group": config["reference_group"],
        "minimum_units": config["minimum_units"],
        "recap": config["recap"],
        "radii": config["spatial"]["radii_m"],
    }


#: Set in each worker process by ``_start_worker``.
_WORKER: dict = {}


def _start_worker(shared_data: Path, draws: int) -> None:
    config, presets = load_config()
    run = scenario_run.prepare_configured(
        stage_inputs(shared_data, config), settings(config, False), draws=draws
    )
    _WORKER.update(run=run, baseline=run.baseline(), presets=presets)


def _run_preset(name: str) -> float:
    start = time.perf_counter()
    steps = _WORKER["presets"]["scenarios"][name]["steps"]
    _WORKER["run"].scenario(name, steps, _WORKER["baseline"])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws")
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the stage's log lines, not the timings
    config, presets = load_config()
    names = list(presets["scenarios"])
    print(f"{os.cpu_count()} cores; Connecticut 2023; {args.draws:,} draws; {len(names)} presets")
    inputs = stage_inputs(args.shared_data, config)

    start = time.perf_counter()
    run = scenario_run.prepare_configured(inputs, settings(config, False), draws=args.draws)
    prepared = time.perf_counter() - start
    start = time.perf_counter()
    baseline = run.baseline()
    baseline_seconds = time.perf_counter() - start
    outcomes = len(baseline.values)
    print(f"\nPrepare (counts drawn): {prepared:.1f} s")
    print(f"Baseline: {outcomes:,} outcomes, {baseline_seconds:.1f} s "
          f"({args.draws / baseline_seconds:,.0f} draws/s)")  # fmt: skip

    print("\nOne core, each preset (steps + every outcome at every level)")
    print("| scenario | seconds | draws/s |\n| --- | --- | --- |")
    single = {}
    for name in names:
        start = time.perf_counter()
        run.scenario(name, presets["scenarios"][name]["steps"], baseline)
        single[name] = time.perf_counter() - start
        print(f"| {name} | {single[name]:.1f} | {args.draws / single[name]:,.0f} |")

    workers = 2
    start = time.perf_counter()
    with ProcessPoolExecutor(
        workers, initializer=_start_worker, initargs=(args.shared_data, args.draws)
    ) as pool:
        # The workers' set-up (tables, baseline) is timed apart, as Snakemake's baseline job.
        list(pool.map(_run_preset, names[:workers]))
        warm = time.perf_counter()
        list(pool.map(_run_preset, names))
    wall = time.perf_counter() - warm
    per_scenario = wall / len(names)
    print(f"\nTwo cores, two worker processes: {len(names)} presets in {wall:.1f} s wall "
          f"({per_scenario:.1f} s per scenario; set-up {warm - start:.1f} s apart)")  # fmt: skip

    spatial_run = scenario_run.prepare_configured(inputs, settings(config, True), draws=args.draws)
    start = time.perf_counter()
    spatial_baseline = spatial_run.baseline()
    spatial_base_seconds = time.perf_counter() - start
    name = names[0]
    start = time.perf_counter()
    spatial_run.scenario(name, presets["scenarios"][name]["steps"], spatial_baseline)
    spatial_seconds = time.perf_counter() - start
    outcomes = len(spatial_baseline.values)
    print(
        f"\nWith the spatial and geometric indices ({outcomes:,} outcomes): baseline "
        f"{spatial_base_seconds:.1f} s, '{name}' {spatial_seconds:.1f} s on one core"
    )

    worst = max(single.values())
    print(
        "\nTarget (issue 5): 1,000 draws of a scenario, all indices at all levels, "
        f"< {TARGET_SECONDS} s on 2 cores"
    )
    print(f"  aspatial and multigroup suite: slowest preset {worst:.1f} s on one core, "
          f"{per_scenario:.1f} s per scenario on two: "
          f"{'met' if worst < TARGET_SECONDS else 'NOT MET'}")  # fmt: skip
    print(f"  with spatial and geometric indices: {spatial_seconds:.1f} s on one core: "
          f"{'met' if spatial_seconds < TARGET_SECONDS else 'NOT MET'}")  # fmt: skip
    if args.draws != 1000:
        print("  (the target is for 1,000 draws)")


if __name__ == "__main__":
    main()
