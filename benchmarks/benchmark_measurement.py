"""Benchmark: our vectorised engine against PySAL on identical work, in one run.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_measurement.py            # full table
    .venv/bin/python benchmarks/benchmark_measurement.py --quick    # small sizes only

For each size it builds a synthetic geography (square tracts in a metre CRS, counts drawn
from a seeded negative binomial so group shares cluster in space), times the same indices
with PySAL `segregation` and with `housing_segregation`, checks that both give the same
value, and prints the ratio and our peak traced memory. Ratios are measured in this one run
on this machine; only the targets (from the project's issue 3) are written down here.

Threads: the aspatial, kernel and profile work runs on one thread on both sides. The
random-allocation test is given the machine's cores on both sides: PySAL's `n_jobs`
(processes; its faster of 1 and all cores counts) and our `threads`; our one-thread figure
is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from housing_segregation import indices, spatial  # noqa: E402
from housing_segregation.inference import random_allocation_test  # noqa: E402

warnings.filterwarnings("ignore")

#: The aspatial indices timed, as named by indices.single_group_indices.
ASPATIAL = (
    "dissimilarity", "gini", "entropy", "atkinson", "isolation", "interaction", "correlation_ratio"
)  # fmt: skip

#: Distances (m) of the multiscalar profile, and the kernel radius timed alone.
PROFILE_DISTANCES = (500.0, 1000.0, 2000.0, 4000.0)
KERNEL_RADIUS = 2000.0

#: Monte Carlo draws in our batches (the pipeline's default), and PySAL's replicates per size.
DRAWS = 1000
PYSAL_DRAWS = 20

#: Targets from issue 3: minimum ratios, and the memory ceiling at 15,000 units.
TARGETS = {"aspatial": 20, "kernel": 50, "profile": 50, "permutation": 100}
MEMORY_CEILING_MIB = 1024
CONNECTICUT_SECONDS = 60


def synthetic_geography(n_units: int, seed: int) -> pd.DataFrame:
    """Synthetic tracts on a square grid: a smooth share surface plus negative-binomial noise."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_units)))
    x, y = np.divmod(np.arange(n_units), side)
    share = 0.05 + 0.6 / (
        1 + np.exp(-(((x - side / 3) ** 2 + (y - side / 2) ** 2) ** 0.5) / side * -8 + 3)
    )
    total = rng.negative_binomial(8, 8 / (8 + 4000), size=n_units).astype(float) + 50
    group = rng.binomial(total.astype(int), np.clip(share, 0, 1)).astype(float)
    return pd.DataFrame({"x": x * 1000.0, "y": y * 1000.0, "group": group, "total": total})


def centroids(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([frame["x"] + 500, frame["y"] + 500])


def monte_carlo_draws(frame: pd.DataFrame, draws: int, seed: int) -> tuple[np.ndarray, ...]:
    """Replicates of the counts, as the uncertainty stage makes them (gamma, group ≤ total)."""
    rng = np.random.default_rng(seed)
    total = rng.gamma(np.maximum(frame["total"].to_numpy(), 1), 1.0, size=(draws, len(frame)))
    group = np.minimum(rng.gamma(np.maximum(frame["group"].to_numpy(), 1e-9), 1.0), total)
    return group, total


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def peak_mib(function) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


# --------------------------------------------------------------------------------------------
# The work, on both sides
# --------------------------------------------------------------------------------------------


def aspatial_ours(group: np.ndarray, total: np.ndarray) -> list:
    values = indices.single_group_indices(group, total - group, total)
    return [values[name] for name in ASPATIAL]


def aspatial_pysal(frame: pd.DataFrame) -> list[float]:
    from segregation.singlegroup import (
        Atkinson,
        CorrelationR,
        Dissim,
        Entropy,
        Gini,
        Interaction,
        Isolation,
    )

    return [
        cls(frame, "group", "total").statistic
        for cls in (Dissim, Gini, Entropy, Atkinson, Isolation, Interaction, CorrelationR)
    ]


def square_tracts(frame: pd.DataFrame):
    """The synthetic tracts as 1 km squares in EPSG:5070, the form PySAL's spatial indices take."""
    import geopandas as gpd
    from shapely import box

    shapes = [box(x, y, x + 1000, y + 1000) for x, y in zip(frame["x"], frame["y"], strict=True)]
    return gpd.GeoDataFrame(frame[["group", "total"]], geometry=shapes, crs="EPSG:5070")


def kernel_ours(frame: pd.DataFrame, group: np.ndarray, total: np.ndarray):
    weights = spatial.kernel_weights(centroids(frame), KERNEL_RADIUS)
    return spatial.egohood_dissimilarity(group, total, weights)


def kernel_pysal(tracts) -> float:
    from segregation.singlegroup import Dissim

    return Dissim(tracts, "group", "total", distance=KERNEL_RADIUS).statistic


def profile_ours(frame: pd.DataFrame, group: np.ndarray, total: np.ndarray) -> list:
    profile = spatial.multiscalar_profile(group, total, centroids(frame), PROFILE_DISTANCES)
    return list(profile.values())


def profile_pysal(tracts) -> list[float]:
    from segregation.dynamics import compute_multiscalar_profile
    from segregation.singlegroup import Dissim

    profile = compute_multiscalar_profile(
        tracts, Dissim, group_pop_var="group", total_pop_var="total",
        distances=list(PROFILE_DISTANCES),
    )  # fmt: skip
    return profile.to_list()


def decay_ours(frame: pd.DataFrame, group: np.ndarray, total: np.ndarray):
    proximity = spatial.decay_proximity(centroids(frame), np.full(len(frame), 1e6))
    return spatial.distance_decay_isolation(group, total, proximity)


def whole_counts(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(group=frame["group"].round(), total=frame["total"].round())


def permutation_pysal(frame: pd.DataFrame, jobs: int) -> None:
    from segregation.inference import SingleValueTest
    from segregation.singlegroup import Dissim

    index = Dissim(frame, "group", "total")
    SingleValueTest(index, iterations_under_null=99, null_approach="systematic", n_jobs=jobs)


def permutation_ours(frame: pd.DataFrame, threads: int):
    return random_allocation_test(
        frame["group"].to_numpy(), frame["total"].to_numpy(), permutations=999, rng=1,
        threads=threads,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

COLUMNS = f"{'units':>7} {'PySAL ms':>10} {'ours ms':>10} {'ratio':>8} {'peak MiB':>9}"


def row(units: int, pysal: float, ours: float, peak: float) -> str:
    return f"{units:>7} {pysal * 1e3:>10.2f} {ours * 1e3:>10.4f} {pysal / ours:>7.0f}x {peak:>9.0f}"


def same(ours, pysal, what: str) -> None:
    ours = np.array([np.ravel(value)[0] for value in ours])
    if not np.allclose(ours, pysal, rtol=1e-9, atol=1e-9):
        raise AssertionError(f"{what}: ours {ours} differ from PySAL {pysal}")


def aspatial_table(sizes) -> tuple[list[float], float]:
    print(f"\nAspatial batch ({', '.join(ASPATIAL)}), seconds per Monte Carlo draw")
    print(f"(PySAL over {PYSAL_DRAWS} draws, one at a time; ours over a {DRAWS:,}-draw batch)")
    print(COLUMNS)
    ratios, peak_15k = [], float("nan")
    for size in sizes:
        frame = synthetic_geography(size, seed=size)
        same(aspatial_ours(frame["group"].to_numpy(), frame["total"].to_numpy()),
             aspatial_pysal(frame), "aspatial")  # fmt: skip
        group, total = monte_carlo_draws(frame, DRAWS, seed=size)
        replicates = [
            pd.DataFrame({"group": group[d], "total": total[d]}) for d in range(PYSAL_DRAWS)
        ]
        pysal = timed(lambda: [aspatial_pysal(r) for r in replicates]) / PYSAL_DRAWS  # noqa: B023
        ours = timed(lambda: aspatial_ours(group, total)) / DRAWS  # noqa: B023
        peak = peak_mib(lambda: aspatial_ours(group, total))  # noqa: B023
        print(row(size, pysal, ours, peak))
        ratios.append(pysal / ours)
        if size == 15000:
            peak_15k = peak
    return ratios, peak_15k


def spatial_table(title: str, sizes, ours_function, pysal_function) -> tuple[list[float], float]:
    print(f"\n{title}, seconds per Monte Carlo draw")
    print(f"(PySAL: one draw; ours: a {DRAWS:,}-draw batch, weights built inside the timing)")
    print(COLUMNS)
    ratios, peak_15k = [], float("nan")
    for size in sizes:
        frame = synthetic_geography(size, seed=size)
        tracts = square_tracts(frame)
        point = (frame["group"].to_numpy(), frame["total"].to_numpy())
        pysal = timed(lambda: pysal_function(tracts))  # noqa: B023
        same(np.atleast_1d(ours_function(frame, *point)), np.atleast_1d(pysal_function(tracts)),
             title)  # fmt: skip
        group, total = monte_carlo_draws(frame, DRAWS, seed=size)
        ours = timed(lambda: ours_function(frame, group, total)) / DRAWS  # noqa: B023
        peak = peak_mib(lambda: ours_function(frame, group, total))  # noqa: B023
        print(row(size, pysal, ours, peak))
        ratios.append(pysal / ours)
        if size == 15000:
            peak_15k = peak
    return ratios, peak_15k


def permutation_table(sizes, cores: int) -> tuple[list[float], list[float]]:
    print("\nRandom-allocation test of D, seconds per permutation (PySAL 99, ours 999)")
    print(f"(PySAL: the faster of n_jobs=1 and n_jobs={cores}; ours: 1 and {cores} threads)")
    print(f"{'units':>7} {'PySAL ms':>10} {'ours 1t ms':>11} {'ratio':>8} "
          f"{'ours ' + str(cores) + 't ms':>11} {'ratio':>8}")  # fmt: skip
    single, parallel = [], []
    for size in sizes:
        frame = whole_counts(synthetic_geography(size, seed=size))
        permutation_pysal(frame, cores)  # start PySAL's worker pool before timing it
        pysal = min(timed(lambda j=jobs: permutation_pysal(frame, j)) for jobs in (1, cores)) / 99  # noqa: B023
        one = min(timed(lambda: permutation_ours(frame, 1)) for _ in range(3)) / 999  # noqa: B023
        many = min(timed(lambda: permutation_ours(frame, cores)) for _ in range(3)) / 999  # noqa: B023
        print(f"{size:>7} {pysal * 1e3:>10.2f} {one * 1e3:>11.4f} {pysal / one:>7.0f}x "
              f"{many * 1e3:>11.4f} {pysal / many:>7.0f}x")  # fmt: skip
        single.append(pysal / one)
        parallel.append(pysal / many)
    return single, parallel


def decay_memory(size: int) -> float:
    """Our peak for distance-decay isolation over 20 draws at ``size`` units (PySAL builds
    the dense n × n matrices for this one; we build it in blocks)."""
    frame = synthetic_geography(size, seed=size)
    group, total = monte_carlo_draws(frame, 20, seed=size)
    return peak_mib(lambda: decay_ours(frame, group, total))


def connecticut_stage(shared_data: Path, threads: int) -> tuple[float, float]:
    """Seconds and peak traced MiB of the whole measurement stage for Connecticut 2023, as
    the pipeline runs it with config/config.yaml (all levels, every index, 1,000 draws)."""
    import yaml

    from housing_segregation.config import load_schema, validate_config
    from housing_segregation.measure import compute_indices
    from housing_segregation.tracts import build_unit_table_from_layout

    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as handle:
        config = validate_config(
            yaml.safe_load(handle), load_schema(ROOT / "workflow/schemas/config.schema.yaml")
        )
    tracts = build_unit_table_from_layout(shared_data, config, state="09", year=2023)
    points = tracts.geometry.centroid

    def stage():
        compute_indices(
            tracts,
            groups=config["groups"],
            reference_group=config["reference_group"],
            minimum_units=config["minimum_units"],
            draws=config["uncertainty"]["draws"],
            seed=[config["uncertainty"]["seed"], 2023, 9],
            centroids=np.column_stack([points.x, points.y]),
            unit_areas=tracts.geometry.area.to_numpy(),
            radii=config["spatial"]["radii_m"],
            inference=config["inference"],
            threads=threads,
        )

    return timed(stage), peak_mib(stage)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 500 and 2,000 only")
    parser.add_argument(
        "--shared-data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="real data folder for the Connecticut stage timing",
    )
    args = parser.parse_args()
    sizes = [500, 2000] if args.quick else [500, 2000, 5000, 15000]
    cores = os.cpu_count() or 1
    print(f"{cores} cores; numpy {np.__version__}")

    aspatial_pysal(synthetic_geography(200, 0))  # compile PySAL's numba kernels first
    aspatial, aspatial_peak = aspatial_table(sizes)
    kernel, kernel_peak = spatial_table(
        f"Kernel (egohood) dissimilarity at {KERNEL_RADIUS:g} m", sizes, kernel_ours, kernel_pysal
    )
    profile, _ = spatial_table(
        f"Multiscalar profile of D (0 and {', '.join(f'{d:g}' for d in PROFILE_DISTANCES)} m)",
        sizes[:3],
        profile_ours,
        profile_pysal,
    )
    single, parallel = permutation_table([500, 2000], cores)

    print("\nTargets (issue 3)")
    print(f"  aspatial batch >= {TARGETS['aspatial']}x: lowest {min(aspatial):.0f}x, "
          f"{verdict(min(aspatial) >= TARGETS['aspatial'])}")  # fmt: skip
    print(f"  kernel spatial >= {TARGETS['kernel']}x: lowest {min(kernel):.0f}x, "
          f"{verdict(min(kernel) >= TARGETS['kernel'])}")  # fmt: skip
    print(f"  multiscalar profile >= {TARGETS['profile']}x: lowest {min(profile):.0f}x, "
          f"{verdict(min(profile) >= TARGETS['profile'])}")  # fmt: skip
    print(f"  permutation inference >= {TARGETS['permutation']}x: lowest {min(parallel):.0f}x "
          f"on {cores} threads ({min(single):.0f}x on one), "
          f"{verdict(min(parallel) >= TARGETS['permutation'])}")  # fmt: skip
    if not args.quick:
        decay_peak = decay_memory(15000)
        peaks = {"aspatial": aspatial_peak, "kernel": kernel_peak, "distance decay": decay_peak}
        listed = ", ".join(f"{name} {peak:.0f}" for name, peak in peaks.items())
        print(f"  peak <= {MEMORY_CEILING_MIB} MiB at 15,000 units: {listed} MiB, "
              f"{verdict(max(peaks.values()) <= MEMORY_CEILING_MIB)}")  # fmt: skip
    if args.shared_data.is_dir():
        seconds, peak = connecticut_stage(args.shared_data, cores)
        print(f"  Connecticut 2023 stage < {CONNECTICUT_SECONDS} s (all levels and indices, "
              f"{DRAWS:,} draws): {seconds:.1f} s, peak {peak:.0f} MiB, "
              f"{verdict(seconds < CONNECTICUT_SECONDS)}")  # fmt: skip
    else:
        print(f"  Connecticut stage skipped: no folder {args.shared_data}")


if __name__ == "__main__":
    main()
