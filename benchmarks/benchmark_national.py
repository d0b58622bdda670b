"""Benchmark: the measurement stage on a synthetic national geography, and how it grows.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_national.py --national            # the nation, per state
    .venv/bin/python benchmarks/benchmark_national.py --national --no-inference
    .venv/bin/python benchmarks/benchmark_national.py --national --no-inference \
        --unit-level block_group                                            # 242,000 block groups
    .venv/bin/python benchmarks/benchmark_national.py                       # 2k..20k units
    .venv/bin/python benchmarks/benchmark_national.py --sizes 2000 5000 10000 --threads 1
    .venv/bin/python benchmarks/benchmark_national.py --sizes 2000 5000 --draws 50
    .venv/bin/python benchmarks/benchmark_national.py --profile 10000       # cProfile one size

`--national` runs the stage as the pipeline does: one job per state (a fresh process that
reads its state's table, saved apart as the pipeline saves each state's, and calls
compute_indices), `--jobs` (2) at a time, largest states first. It prints each job, the
whole stage's wall time (the figure for the issue's target: the nation under 10 minutes on
2 cores), the CPU time, the largest job's peak memory and the sum of the `--jobs` largest
peaks (what can be resident at once; target 2 GB), and a fit of a job's CPU time, a·units
+ b·Σ(units per area)², to size other runs. The other modes measure growth within one process:

What each run measures: one call of `housing_segregation.measure.compute_indices`, as
workflow/scripts/compute_indices.py makes it (BLAS on one thread, `threads` for the
inference simulations), with every index: the four race pairs of config/config.yaml against
white_nh and the two poverty pairs the stage always adds, the multigroup indices, the egohood
indices at three radii, the distance-decay and geometric indices, bias-corrected D and the
random-allocation test, and Monte Carlo intervals over `--draws` replicates (200 by default).
Each size runs in a fresh subprocess; it prints the wall time of compute_indices alone, its
CPU time (all threads; well below wall time means other work shared the cores), the
process's peak resident memory (VmHWM, which includes Python, the libraries and the
synthetic table), and the number of areas and of index rows. Then, by default, it times one
area alone at `--area-sizes` units (the largest state's first tracts, only the state level
measured), the cost of a large area's n × n work (distance decay and clustering). It fits
the growth exponents (seconds ∝ units^k) and a cost model, seconds = a·units + b·Σ(units per
area)², with b from the one-area runs and a from the national runs, and uses the model to
estimate the full national run, on wall and on CPU time.

The geography is SYNTHETIC (seeded; no real data): the national table of `--national-units`
tracts (85,000) is built once, in the real shape: 51 states with sizes like the states'
(largest about 9,100 tracts), about 930 CBSAs with lognormal sizes (the largest pinned at
4,500 tracts) covering 94% of tracts, counties inside CBSAs (about √n/3 per CBSA, at most
2,500 tracts; rural counties of about 4), towns (county subdivisions) of about 5 tracts,
tracts of about 4,000 people with ACS-like margins of error, race and poverty counts that
cluster in space, and centroids and areas in metres (dense cores, sparse edges). A run of
`n` units measures the first `n` tracts of the nation with its states in a seeded random
order: a random set of whole states, the last one cut short, as a user measuring part of the
country would. With ``--unit-level block_group`` the same geography is built of 242,000 block
groups of about 1,400 people (largest CBSA 15,000, largest state about 26,000; see
:data:`SHAPES`).

Only the timings of this one run on this machine are printed; the targets are those of the
issue (the whole nation under 10 minutes on 2 cores and under 2 GB peak).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from housing_segregation.measure import LEVELS, compute_indices  # noqa: E402
from housing_segregation.uncertainty import POVERTY_PARTS, RACE_PARTS  # noqa: E402

warnings.filterwarnings("ignore")

#: The stage's settings (config/config.yaml), radii cut to the issue's three distances.
GROUPS = ["black_nh", "hispanic", "asian_nh", "nonwhite"]
REFERENCE_GROUP = "white_nh"
RADII = [1000.0, 2000.0, 4000.0]
INFERENCE = {"bias_correction_draws": 500, "permutations": 999}
DRAWS = 200
MINIMUM_UNITS = {"state": 2, "county": 2, "planning_region": 2, "cbsa": 2, "town": 3}
YEAR = 2023

#: The issue's targets for the whole nation.
TARGET_SECONDS = 600
TARGET_MB = 2048

#: Relative state sizes, roughly those of the 50 states and DC in 2020 tracts (rounded; only
#: the spread matters: they are rescaled to the national total).
STATE_SHAPE = (
    9100, 6900, 5400, 5200, 3450, 3250, 3150, 3000, 2800, 2650, 2200, 2200, 1800, 1750, 1700,
    1700, 1650, 1600, 1550, 1500, 1500, 1450, 1450, 1400, 1300, 1300, 1200, 1000, 900, 900,
    880, 830, 820, 780, 720, 610, 560, 550, 460, 460, 410, 350, 320, 260, 250, 240, 220, 210,
    190, 180, 170,
)  # fmt: skip
CBSAS = 930
CBSA_SHARE = 0.94


@dataclasses.dataclass(frozen=True)
class NationalShape:
    """The real shape of the nation's units, as the synthetic geography copies it."""

    unit_level: str
    units: int  # in the nation
    largest_cbsa: int
    largest_county: int
    rural_units_per_county: int
    units_per_town: int
    people_per_unit: int
    metro_spread: float  # metres per √unit from a CBSA's core
    rural_spread: float


#: Tracts: 85,000 (84,400 in 2020), the largest CBSA 4,500 (New York's, about 4,600), Los
#: Angeles County about 2,500. Block groups: 242,000 (242,335 in 2020) of about 1,400 people,
#: the largest CBSA 15,000 (the issue's figure), Los Angeles County about 6,600; a unit's
#: side shrinks with √(people per unit).
SHAPES = {
    "tract": NationalShape("tract", 85_000, 4_500, 2_500, 4, 5, 4_000, 700.0, 3000.0),
    "block_group": NationalShape(
        "block_group", 242_000, 15_000, 7_000, 11, 14, 1_400, 415.0, 1780.0
    ),
}


# --------------------------------------------------------------------------------------------
# The synthetic national geography
# --------------------------------------------------------------------------------------------


def _split(total: int, parts: int, rng: np.random.Generator, sigma: float, cap: int) -> list[int]:
    """``total`` units in ``parts`` lognormal pieces of at most ``cap`` (more pieces if needed)."""
    parts = max(1, parts, -(-total // cap))
    sizes = rng.lognormal(0.0, sigma, parts)
    sizes = np.maximum(1, np.floor(sizes / sizes.sum() * total)).astype(int)
    sizes = np.minimum(sizes, cap)
    while sizes.sum() < total:  # hand the rounding remainder to pieces below the cap
        room = np.flatnonzero(sizes < cap)
        sizes[room[: total - sizes.sum()]] += 1
    while sizes.sum() > total:
        sizes[np.argmax(sizes)] -= 1
    return [int(s) for s in sizes if s > 0]


def _cbsa_sizes(state_sizes: list[int], rng: np.random.Generator, largest: int) -> list[list[int]]:
    """CBSA sizes per state: ~930 lognormal areas over 94% of units, the largest ``largest``."""
    in_cbsas = [round(size * CBSA_SHARE) for size in state_sizes]
    total = sum(in_cbsas)
    counts = [max(1, round(CBSAS * size / total)) for size in in_cbsas]
    per_state = []
    for state, (size, count) in enumerate(zip(in_cbsas, counts, strict=True)):
        if state == 0:  # the largest state holds the largest CBSA
            rest = _split(size - largest, count - 1, rng, 1.5, largest)
            per_state.append([largest, *rest])
        else:
            per_state.append(_split(size, count, rng, 1.5, largest))
    return per_state


def _place(n: int, centre: np.ndarray, rng: np.random.Generator, spread: float):
    """Centroids around ``centre`` (dense core, sparse edge) and areas that fill the space."""
    radius = spread * np.sqrt(n) * rng.gamma(2.0, 0.5, n)  # metres
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    # A tract's area grows with its distance from the core (people per m² fall off).
    area = np.pi * spread**2 * (0.3 + (radius / (spread * np.sqrt(n))) ** 2) * 1.5
    return xy, area * rng.lognormal(0.0, 0.4, n)


def synthetic_national_tracts(
    n_units: int | None = None, seed: int = 20231127, shape: NationalShape = SHAPES["tract"]
) -> pd.DataFrame:
    """A SYNTHETIC national table of tracts (or block groups: ``shape``) in the shape
    compute_indices reads (see module docstring): ids of every level, counts and MOEs of
    every part, x/y centroids and areas in metres. States come in a seeded random order; take
    a prefix for fewer units."""
    n_units = n_units or shape.units
    rng = np.random.default_rng(seed)
    relative = np.array(STATE_SHAPE, dtype=float)
    state_sizes = np.maximum(2, np.round(relative / relative.sum() * n_units)).astype(int)
    state_sizes[0] += n_units - state_sizes.sum()
    rows = []  # (state, county, cbsa or -1, town) per tract, plus geometry
    xy_parts, area_parts = [], []
    county_number = town_number = cbsa_number = 0
    for state, cbsas in enumerate(_cbsa_sizes(list(state_sizes), rng, shape.largest_cbsa)):
        state_centre = rng.uniform(0, 4.5e6, 2)
        rural = int(state_sizes[state]) - sum(cbsas)
        pieces = [(size, cbsa_number + k) for k, size in enumerate(cbsas)]
        cbsa_number += len(cbsas)
        if rural > 0:
            pieces.append((rural, -1))
        for size, cbsa in pieces:
            centre = state_centre + rng.normal(0, 1.5e5, 2)
            spread = shape.metro_spread if cbsa >= 0 else shape.rural_spread
            xy, area = _place(size, centre, rng, spread)
            order = np.lexsort((np.arctan2(*(xy - centre).T), np.hypot(*(xy - centre).T) // 2e4))
            xy, area = xy[order], area[order]  # counties and towns are contiguous rings
            xy_parts.append(xy)
            area_parts.append(area)
            # A metro spans a few large counties (~√n/3), the rural rest many small ones.
            n_counties = np.sqrt(size) / 3 if cbsa >= 0 else size / shape.rural_units_per_county
            counties = _split(size, round(n_counties), rng, 1.0, shape.largest_county)
            for county_size in counties:
                for town_size in _split(county_size, round(county_size / shape.units_per_town),
                                        rng, 0.8, county_size):  # fmt: skip
                    rows += [(state, county_number, cbsa, town_number)] * town_size
                    town_number += 1
                county_number += 1
    ids = np.array(rows)
    xy, area = np.vstack(xy_parts), np.concatenate(area_parts)
    n = len(ids)
    frame = pd.DataFrame(
        {
            "year": YEAR,
            "geography_level": shape.unit_level,
            "geoid": [f"S{i:011d}" for i in range(n)],
            "name": [f"Synthetic {shape.unit_level} {i}" for i in range(n)],
            "state_fips": [f"{s:02d}" for s in ids[:, 0]],
            "state_name": [f"Synthetic state {s}" for s in ids[:, 0]],
            "county_geoid": [f"C{c:05d}" for c in ids[:, 1]],
            "county_name": [f"Synthetic county {c}" for c in ids[:, 1]],
            "planning_region_geoid": None,  # Connecticut only: no such level nationally
            "planning_region_name": None,
            "cbsa_geoid": [f"M{c:05d}" if c >= 0 else None for c in ids[:, 2]],
            "cbsa_name": [f"Synthetic CBSA {c}" if c >= 0 else None for c in ids[:, 2]],
            "cbsa_complete": True,
            "town_geoid": [f"T{t:09d}" for t in ids[:, 3]],
            "town_name": [f"Synthetic town {t}" for t in ids[:, 3]],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "area_m2": area,
        }
    )
    frame = pd.concat([frame, _synthetic_counts(ids, xy, rng, shape.people_per_unit)], axis=1)
    # States in a random order, so that a prefix is a random set of whole states.
    order = rng.permutation(len(STATE_SHAPE))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    frame = frame.iloc[np.argsort(rank[ids[:, 0]], kind="stable")].reset_index(drop=True)
    return frame


def _moe(counts: np.ndarray) -> np.ndarray:
    """ACS-like 90% margins: about 8√count, at least 12 (Connecticut's 2023 tracts)."""
    return np.round(12 + 7.5 * np.sqrt(counts))


def _synthetic_counts(
    ids: np.ndarray, xy: np.ndarray, rng: np.random.Generator, people: int
) -> pd.DataFrame:
    """Race and poverty parts with MOEs: unit totals ~``people`` (0.5% empty), shares that
    cluster around a few enclave points per CBSA, poverty tied to the minority share."""
    n = len(ids)
    total = rng.negative_binomial(7, 7 / (7 + people), n).astype(float)
    total[rng.random(n) < 0.005] = 0
    # Enclaves: each area (CBSA, or rural county) gets two centres; nearness raises the
    # Black and Hispanic shares, a third centre the Asian share.
    area_key = np.where(ids[:, 2] >= 0, ids[:, 2], 10**6 + ids[:, 1])
    _, area_index = np.unique(area_key, return_inverse=True)
    first = np.unique(area_index, return_index=True)[1]
    centres = xy[first][:, None, :] + rng.normal(0, 4000, (len(first), 3, 2))
    near = np.exp(-np.linalg.norm(xy[:, None, :] - centres[area_index], axis=-1) / 6000)
    weights = np.column_stack(
        [
            np.full(n, 9.0),  # white_nh
            0.6 + 12 * near[:, 0],  # black_nh
            0.05 * np.ones(n),  # aian_nh
            0.3 + 4 * near[:, 2],  # asian_nh
            0.02 * np.ones(n),  # nhpi_nh
            0.06 * np.ones(n),  # other_nh
            0.35 * np.ones(n),  # two_or_more_nh
            1.0 + 10 * near[:, 1],  # hispanic
        ]
    )
    shares = rng.gamma(weights * 4) + 1e-12
    shares /= shares.sum(axis=1, keepdims=True)
    race = _partition(total, shares, rng)
    minority = 1 - race[:, 0] / np.maximum(total, 1)
    universe = np.floor(total * rng.uniform(0.94, 0.99, n))
    poverty_base = np.array([0.04, 0.06, 0.04, 0.04, 0.06, 0.03, 0.73])
    poor = 0.4 + 2.5 * minority[:, None]  # poorer where the minority share is higher
    poverty_weights = poverty_base * np.column_stack([poor] * 6 + [np.ones(n)]) * 30
    poverty_shares = rng.gamma(poverty_weights) + 1e-12
    poverty_shares /= poverty_shares.sum(axis=1, keepdims=True)
    poverty = _partition(universe, poverty_shares, rng)
    columns = {"total": total}
    for parts, values in ((RACE_PARTS, race), (POVERTY_PARTS, poverty)):
        for j, part in enumerate(parts):
            columns[part] = values[:, j]
            columns[f"{part}_moe"] = _moe(values[:, j])
    columns["total_moe"] = _moe(total)
    return pd.DataFrame(columns)


def _partition(total: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.multinomial(total.astype(np.int64), shares).astype(float)


# --------------------------------------------------------------------------------------------
# One measurement, in a fresh process
# --------------------------------------------------------------------------------------------


def area_sizes(tracts: pd.DataFrame) -> list[int]:
    """Tracts per area over every measured level (with the minimum number of tracts)."""
    sizes = []
    for level, (id_column, _) in LEVELS.items():
        if id_column in tracts and not tracts[id_column].isna().all():
            counts = tracts[id_column].dropna().value_counts()
            sizes += [int(c) for c in counts if c >= MINIMUM_UNITS[level]]
    return sizes


def measure(tracts: pd.DataFrame, draws: int, threads: int, inference: bool = True):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as workflow/scripts/compute_indices.py
        return compute_indices(
            tracts,
            groups=GROUPS,
            reference_group=REFERENCE_GROUP,
            unit_level=str(tracts["geography_level"].iloc[0]),
            minimum_units=MINIMUM_UNITS,
            draws=draws,
            interval_level=0.9,
            seed=[20231127, YEAR, 0],
            centroids=tracts[["x", "y"]].to_numpy(),
            unit_areas=tracts["area_m2"].to_numpy(),
            radii=RADII,
            inference=INFERENCE if inference else None,
            threads=threads,
        )


def one_area(national: pd.DataFrame, units: int) -> pd.DataFrame:
    """The largest state's first ``units`` tracts (its largest CBSA first) as the only area
    measured: the cost of one area of that size, dominated by its n × n work."""
    largest = national["state_fips"].value_counts().index[0]
    tracts = national[national["state_fips"] == largest].iloc[:units].reset_index(drop=True)
    for level, (id_column, name_column) in LEVELS.items():
        if level != "state":
            tracts[[id_column, name_column]] = None
    return tracts


def peak_resident_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; ru_maxrss
    does not (a job started by this script would carry the script's own peak)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(
    units: int,
    draws: int,
    threads: int,
    national: int,
    profile: Path | None,
    single: bool,
    state: tuple[Path, str] | None = None,
    inference: bool = True,
    shape: NationalShape = SHAPES["tract"],
) -> dict:
    if state is not None:  # one state's saved table, as one pipeline job reads its own
        directory, fips = state
        tracts = pd.read_parquet(directory / f"{fips}.parquet").reset_index(drop=True)
    else:
        tracts = synthetic_national_tracts(national, shape=shape)
        tracts = one_area(tracts, units) if single else tracts.iloc[:units].reset_index(drop=True)
    baseline_mb = peak_resident_mb()
    profiler = cProfile.Profile() if profile else None
    cpu = time.process_time()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    table = measure(tracts, draws, threads, inference)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    sizes = area_sizes(tracts)
    return {
        "units": len(tracts),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak_resident_mb(),
        "baseline_mb": baseline_mb,
        "areas": len(sizes),
        "largest_area": max(sizes),
        "sum_squares": float(np.sum(np.square(sizes, dtype=float))),
        "rows": len(table),
    }


def run_size(units: int, args, single: bool = False, state: str | None = None) -> dict:
    command = [
        sys.executable, __file__, "--worker", str(units), "--draws", str(args.draws),
        "--threads", str(args.threads), "--national-units", str(args.national_units),
        "--unit-level", args.unit_level,
    ]  # fmt: skip
    if args.no_inference:
        command.append("--no-inference")
    if single:
        command.append("--single-area")
    if state is not None:
        command += ["--table", str(args.table), "--state", state]
    if args.profile_file:
        command += ["--profile-file", str(args.profile_file)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{units} units failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Growth and the national estimate
# --------------------------------------------------------------------------------------------


def growth_exponent(units, values) -> float:
    return float(np.polyfit(np.log(units), np.log(values), 1)[0])


def table(results: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(f"{'units':>7} {'areas':>6} {'largest':>8} {'Σn² (M)':>9} {'rows':>8} "
          f"{'wall s':>9} {'CPU s':>8} {'peak MB':>8} {'base MB':>8}")  # fmt: skip
    for r in results:
        print(f"{r['units']:>7} {r['areas']:>6} {r['largest_area']:>8} "
              f"{r['sum_squares'] / 1e6:>9.1f} {r['rows']:>8} {r['seconds']:>9.1f} "
              f"{r['cpu_seconds']:>8.1f} {r['peak_mb']:>8.0f} "
              f"{r['baseline_mb']:>8.0f}")  # fmt: skip


def cost_model(
    results: list[dict], areas: list[dict], key: str, quadratic_from: list[dict] | None = None
) -> tuple[float, float]:
    """(a, b) of seconds = a·units + b·Σ n_area²: b from the one-area runs (a·n + b·n²,
    least squares, both ≥ 0), then a from the national runs less their n² part; or both at
    once from ``quadratic_from`` (runs with their own units and Σn², e.g. one per state)."""
    from scipy.optimize import nnls

    if quadratic_from:
        design = np.array([[r["units"], r["sum_squares"]] for r in quadratic_from], dtype=float)
        scale = design.max(axis=0)
        fitted = nnls(design / scale, np.array([r[key] for r in quadratic_from]))[0] / scale
        return float(fitted[0]), float(fitted[1])
    b = 0.0
    if len(areas) >= 2:
        n = np.array([r["units"] for r in areas], dtype=float)
        design = np.column_stack([n, n * n])
        scale = design.max(axis=0)
        b = float(nnls(design / scale, np.array([r[key] for r in areas]))[0][1] / scale[1])
    units = np.array([r["units"] for r in results], dtype=float)
    rest = np.array([r[key] - b * r["sum_squares"] for r in results])
    return float(units @ rest / (units @ units)), b


def report(results: list[dict], areas: list[dict], args) -> None:
    table(results, "National geography, the first n tracts (a random set of whole states)")
    if areas:
        table(areas, "One area alone (the largest state's first n tracts)")
    largest = results[-1]
    per_unit_draw = (largest["peak_mb"] - largest["baseline_mb"]) / (largest["units"] * args.draws)
    memory = largest["baseline_mb"] + per_unit_draw * args.national_units * args.draws
    print(f"\nPeak memory, linear in units × draws from {largest['units']:,} units: "
          f"~{memory:.0f} MB at {args.national_units:,} (target {TARGET_MB} MB)")  # fmt: skip
    if len(results) < 2:
        return
    units = [r["units"] for r in results]
    sizes = area_sizes(synthetic_national_tracts(args.national_units, shape=args.shape))
    q = float(np.sum(np.square(sizes, dtype=float)))
    print(f"{args.national_units:,} units: {len(sizes)} areas, largest {max(sizes):,}, "
          f"Σn² {q / 1e6:.0f} M (target {TARGET_SECONDS} s)")  # fmt: skip
    for key, label in (("seconds", "wall"), ("cpu_seconds", "CPU")):
        k = growth_exponent(units, [r[key] for r in results])
        by_power = largest[key] * (args.national_units / largest["units"]) ** k
        line = f"  {label}: national runs ∝ units^{k:.2f} -> {by_power:.0f} s at the full size"
        if len(areas) >= 2:
            k_area = growth_exponent([r["units"] for r in areas], [r[key] for r in areas])
            line += f"; one area ∝ n^{k_area:.2f}"
        a, b = cost_model(results, areas, key)
        print(f"{line}\n    model {a * 1e3:.3g} ms × units + {b * 1e6:.3g} µs × Σn² -> "
              f"{a * args.national_units + b * q:.0f} s "
              f"({a * args.national_units:.0f} + {b * q:.0f})")  # fmt: skip


def run_national(args) -> None:
    """The stage as the pipeline runs it on ``--jobs`` cores: one job (a fresh process) per
    state, ``--jobs`` at a time, largest states first (as a scheduler would want). Prints
    each state and the whole stage's wall time, its CPU time, and memory: the largest
    process's peak and the sum of the ``--jobs`` largest peaks (a bound on what runs at
    once)."""
    with tempfile.TemporaryDirectory() as scratch:
        args.table = Path(scratch)
        national = synthetic_national_tracts(args.national_units, shape=args.shape)
        states = national["state_fips"].value_counts().index.tolist()  # largest first
        for fips, rows in national.groupby("state_fips"):
            rows.to_parquet(args.table / f"{fips}.parquet")
        sizes = area_sizes(national)
        del national
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(lambda fips: run_size(0, args, state=fips), states))
        wall = time.perf_counter() - start
    table(sorted(results, key=lambda r: -r["units"]), "One job per state (compute_indices only)")
    peaks = sorted((r["peak_mb"] for r in results), reverse=True)
    cpu = sum(r["cpu_seconds"] for r in results)
    units = sum(r["units"] for r in results)
    print(
        f"\nWhole stage: {units:,} units in {len(results)} jobs, {len(sizes):,} areas, "
        f"largest {max(sizes):,}, Σn² {np.sum(np.square(sizes, dtype=float)) / 1e6:.0f} M\n"
        f"  wall {wall:.0f} s on {args.jobs} job slot(s) (target {TARGET_SECONDS} s; "
        f"processes started, inputs read and indices computed)\n"
        f"  CPU in compute_indices {cpu:.0f} s ({cpu / units * 1e3:.1f} ms per unit)\n"
        f"  peak memory: largest job {peaks[0]:.0f} MB; the {args.jobs} largest together "
        f"{sum(peaks[: args.jobs]):.0f} MB (target {TARGET_MB} MB)"
    )
    # How a job's time grows with its state's size, to size other runs.
    a, b = cost_model(results, [], "cpu_seconds", quadratic_from=results)
    k = growth_exponent([r["units"] for r in results], [r["cpu_seconds"] for r in results])
    print(
        f"  per job: CPU ∝ units^{k:.2f}; fitted {a * 1e3:.2f} ms × units + "
        f"{b * 1e9:.2f} ns × Σ(units per area)²"
    )


def machine() -> str:
    """The processor and the BLAS kernel the timings were taken on. The same code took the
    block-group nation in 739 s on one 2-core machine and in 489 s on another of the same
    size (README), so timings compare only within one machine."""
    from threadpoolctl import threadpool_info

    model, simd = "unknown processor", ""
    try:
        with open("/proc/cpuinfo") as info:
            fields = dict(line.split(":", 1) for line in info if ":" in line)
        model = fields.get("model name\t", model).strip()
        flags = fields.get("flags\t\t", "").split()
        simd = next((name for name in ("avx512f", "avx2", "sse4_2") if name in flags), "")
    except OSError:
        pass
    kernels = {info.get("architecture") for info in threadpool_info() if info.get("architecture")}
    return (
        f"on {os.cpu_count()} core(s) of {model} ({simd or 'no AVX'}), "
        f"BLAS kernel {', '.join(sorted(kernels)) or 'unknown'}"
    )


def print_profile(path: Path, lines: int = 30) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(key).print_stats(lines)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000, 20000],
                        help="units (tracts) per run, each in a fresh process")  # fmt: skip
    parser.add_argument("--draws", type=int, default=DRAWS, help="Monte Carlo draws")
    parser.add_argument("--threads", type=int, default=2, help="inference threads")
    parser.add_argument(
        "--unit-level", choices=sorted(SHAPES), default="tract",
        help="the units of the synthetic nation: tracts, or block groups (242,000)",
    )  # fmt: skip
    parser.add_argument(
        "--national-units", type=int, help="units in the nation (default: the unit level's)"
    )
    parser.add_argument(
        "--profile", type=int, metavar="UNITS",
        help="cProfile one run of this many units and print the top functions",
    )  # fmt: skip
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--area-sizes", type=int, nargs="*", default=[2000, 4500, 9000],
        help="units of one area alone, to fit the n × n term (none: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--national", action="store_true",
        help="the whole nation as the pipeline runs it: one job per state, --jobs at a time",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, help="job slots (cores) for --national")
    parser.add_argument(
        "--no-inference", action="store_true",
        help="leave out bias-corrected D and the random-allocation test (inference: none)",
    )  # fmt: skip
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--table", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--single-area", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.shape = SHAPES[args.unit_level]
    args.national_units = args.national_units or args.shape.units
    if args.worker is not None:
        state = (args.table, args.state) if args.state else None
        result = worker(args.worker, args.draws, args.threads, args.national_units,
                        args.profile_file, args.single_area, state,
                        not args.no_inference, args.shape)  # fmt: skip
        print(json.dumps(result))
        return
    if args.national:
        # As the pipeline's measurement_threads: the machine's cores shared among the jobs.
        args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    inference = "no inference" if args.no_inference else f"inference {INFERENCE}"
    print(f"numpy {np.__version__}; {args.draws} draws, radii {RADII}, {inference} on "
          f"{args.threads} thread(s), BLAS on 1 thread; SYNTHETIC national geography of "
          f"{args.national_units:,} {args.unit_level.replace('_', ' ')}s\n{machine()}")  # fmt: skip
    if args.national:
        run_national(args)
        return
    if args.profile:
        args.profile_file = Path(f"/tmp/benchmark_national_{args.profile}.prof")
        report([run_size(args.profile, args)], [], args)
        print_profile(args.profile_file)
        return
    results = []
    for units in args.sizes:
        results.append(run_size(units, args))
        print(f"  {units:,} units: {results[-1]['seconds']:.1f} s", flush=True)
    areas = []
    for units in args.area_sizes:
        areas.append(run_size(units, args, single=True))
        print(f"  one area of {units:,} units: {areas[-1]['seconds']:.1f} s", flush=True)
    report(results, areas, args)


if __name__ == "__main__":
    main()
