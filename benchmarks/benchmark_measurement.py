"""Benchmark: our vectorised engine against PySAL on identical work, in one run.

Run from the repository root (after `make test` or `make run` has built .venv):

    .venv/bin/python benchmarks/benchmark_measurement.py            # full table
    .venv/bin/python benchmarks/benchmark_measurement.py --quick    # small sizes only

For each size it builds a synthetic geography (square tracts in a metre CRS, counts drawn
from a seeded negative binomial so group shares cluster in space), times the same indices
with PySAL `segregation` and with `housing_segregation`, and prints the ratio and our peak
traced memory. Ratios are measured in this one run on this machine; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from housing_segregation import indices  # noqa: E402

warnings.filterwarnings("ignore")


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


def timed(function, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def peak_mib(function) -> float:
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def aspatial_ours(frame: pd.DataFrame, draws: int = 1):
    group = np.broadcast_to(frame["group"].to_numpy(), (draws, len(frame)))
    total = np.broadcast_to(frame["total"].to_numpy(), (draws, len(frame)))
    other = total - group
    return [
        indices.dissimilarity(group, other),
        indices.gini(group, total),
        indices.entropy(group, total),
        indices.atkinson(group, total, 0.5),
        indices.isolation(group, total),
        indices.interaction(group, other, total),
        indices.correlation_ratio(group, total),
    ]


def aspatial_pysal(frame: pd.DataFrame):
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


def kernel_comparison(frame: pd.DataFrame, radius: float, draws: int) -> tuple[float, float]:
    """Seconds per draw of egohood D at ``radius``: PySAL on one draw, ours on a batch."""
    from segregation.singlegroup import Dissim

    from housing_segregation.spatial import egohood_dissimilarity, kernel_weights

    tracts = square_tracts(frame)
    pysal = timed(lambda: Dissim(tracts, "group", "total", distance=radius).statistic)
    points = np.column_stack([frame["x"] + 500, frame["y"] + 500])
    group = np.broadcast_to(frame["group"].to_numpy(), (draws, len(frame)))
    total = np.broadcast_to(frame["total"].to_numpy(), (draws, len(frame)))
    ours = timed(lambda: egohood_dissimilarity(group, total, kernel_weights(points, radius)))
    return pysal, ours / draws


def permutation_comparison(frame: pd.DataFrame) -> tuple[float, float]:
    """Seconds per random allocation of D: PySAL's SingleValueTest (99) and ours (999)."""
    from segregation.inference import SingleValueTest
    from segregation.singlegroup import Dissim

    from housing_segregation.inference import random_allocation_test

    whole = frame.assign(group=frame["group"].round(), total=frame["total"].round())
    index = Dissim(whole, "group", "total")

    def pysal_test():
        SingleValueTest(index, iterations_under_null=99, null_approach="systematic", n_jobs=1)

    pysal = timed(pysal_test)
    ours = timed(
        lambda: random_allocation_test(
            whole["group"].to_numpy(), whole["total"].to_numpy(), permutations=999, rng=1
        )
    )
    return pysal / 99, ours / 999


def pysal_draws(frame: pd.DataFrame, draws: int, seed: int) -> list[pd.DataFrame]:
    """The same Monte Carlo replicates PySAL would have to be run on, one frame per draw."""
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(draws):
        total = rng.gamma(np.maximum(frame["total"], 1), 1.0)
        group = np.minimum(rng.gamma(np.maximum(frame["group"], 1e-9), 1.0), total)
        replicates.append(pd.DataFrame({"group": group, "total": total}))
    return replicates


def connecticut_stage(shared_data: Path) -> tuple[float, float]:
    """Seconds and peak traced MiB of the whole measurement stage for Connecticut 2023, as
    the pipeline runs it with config/config.yaml (all levels, every index, 1,000 draws)."""
    import yaml

    from housing_segregation.config import load_schema, validate_config
    from housing_segregation.measure import compute_indices
    from housing_segregation.tracts import build_tract_table_from_layout

    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as handle:
        config = validate_config(
            yaml.safe_load(handle), load_schema(ROOT / "workflow/schemas/config.schema.yaml")
        )
    tracts = build_tract_table_from_layout(shared_data, config, state="09", year=2023)
    centroids = tracts.geometry.centroid

    def stage():
        compute_indices(
            tracts,
            groups=config["groups"],
            reference_group=config["reference_group"],
            minimum_units=config["minimum_units"],
            draws=config["uncertainty"]["draws"],
            seed=[config["uncertainty"]["seed"], 2023, 9],
            centroids=np.column_stack([centroids.x, centroids.y]),
            unit_areas=tracts.geometry.area.to_numpy(),
            radii=config["spatial"]["radii_m"],
            inference=config["inference"],
        )

    seconds = timed(stage)
    return seconds, peak_mib(stage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 500 and 2,000 only")
    parser.add_argument(
        "--shared-data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="real data folder for the Connecticut stage timing",
    )
    args = parser.parse_args()
    sizes = [500, 2000] if args.quick else [500, 2000, 5000, 15000]
    pysal_draw_count = 20

    aspatial_pysal(synthetic_geography(200, 0))  # compile PySAL's numba kernels first
    print("Aspatial batch: D, Gini, H, Atkinson(0.5), xPx, xPy, eta2 per Monte Carlo draw")
    print(f"(PySAL timed over {pysal_draw_count} draws, ours over a 1,000-draw batch; per draw)")
    columns = ("units", "PySAL ms", "ours ms", "ratio", "ours 1000 s", "peak MiB")
    print(
        " ".join(
            f"{name:>{width}}" for name, width in zip(columns, (7, 9, 9, 7, 12, 9), strict=True)
        )
    )
    for size in sizes:
        frame = synthetic_geography(size, seed=size)
        pysal_values = aspatial_pysal(frame)
        ours_values = aspatial_ours(frame)
        assert np.allclose([np.ravel(v)[0] for v in ours_values], pysal_values, atol=1e-9)
        replicates = pysal_draws(frame, pysal_draw_count, seed=size)
        pysal = timed(lambda: [aspatial_pysal(r) for r in replicates]) / pysal_draw_count  # noqa: B023
        batch = timed(lambda: aspatial_ours(frame, draws=1000))  # noqa: B023
        peak = peak_mib(lambda: aspatial_ours(frame, draws=1000))  # noqa: B023
        per_draw = batch / 1000
        print(
            f"{size:>7} {pysal * 1e3:>9.2f} {per_draw * 1e3:>9.4f} {pysal / per_draw:>6.0f}x "
            f"{batch:>12.2f} {peak:>9.0f}"
        )
    print("\nKernel (egohood) dissimilarity at 2 km, per draw "
          "(PySAL: one draw; ours: a 1,000-draw batch including the weights)")  # fmt: skip
    print(f"{'units':>7} {'PySAL ms':>9} {'ours ms':>9} {'ratio':>7}")
    for size in [500, 2000] if args.quick else [500, 2000, 5000]:
        pysal, ours = kernel_comparison(synthetic_geography(size, seed=size), 2000.0, 1000)
        print(f"{size:>7} {pysal * 1e3:>9.1f} {ours * 1e3:>9.4f} {pysal / ours:>6.0f}x")
    print("\nRandom-allocation test of D, per permutation (PySAL: 99; ours: 999)")
    print(f"{'units':>7} {'PySAL ms':>9} {'ours ms':>9} {'ratio':>7}")
    for size in (500,):
        pysal, ours = permutation_comparison(synthetic_geography(size, seed=size))
        print(f"{size:>7} {pysal * 1e3:>9.2f} {ours * 1e3:>9.4f} {pysal / ours:>6.0f}x")
    if args.shared_data.is_dir():
        seconds, peak = connecticut_stage(args.shared_data)
        print(
            f"Connecticut 2023 measurement stage (all levels and indices, 1,000 draws): "
            f"{seconds:.1f} s, peak {peak:.0f} MiB traced"
        )


if __name__ == "__main__":
    main()
