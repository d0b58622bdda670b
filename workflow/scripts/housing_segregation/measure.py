"""The measurement stage: every index per geography, with Monte Carlo intervals, as the
tidy ``indices.csv`` table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import indices
from .geometric import (
    absolute_centralization,
    absolute_clustering,
    absolute_concentration,
    delta,
    distance_to_centre,
    relative_centralization,
    relative_clustering,
    relative_concentration,
)
from .indices import (
    multigroup_dissimilarity,
    multigroup_entropy,
    mutual_information,
    mutual_information_decomposition,
)
from .inference import bias_corrected_dissimilarity, random_allocation_test
from .spatial import (
    DecayProximity,
    decay_proximity,
    distance_decay_interaction,
    distance_decay_isolation,
    egohood_dissimilarity,
    egohood_entropy,
    kernel_weights,
    spatial_proximity,
)
from .uncertainty import COMPOSITES, interval, point_counts, simulate_tract_counts

log = logging.getLogger(__name__)

#: Columns of indices.csv, in order (docs/outputs.md).
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
]

#: Geography level -> (ID column, name column) in the tract table, in report order.
LEVELS = {
    "state": ("state_fips", "state_name"),
    "county": ("county_geoid", "county_name"),
    "planning_region": ("planning_region_geoid", "planning_region_name"),
    "cbsa": ("cbsa_geoid", "cbsa_name"),
    "town": ("town_geoid", "town_name"),
}

#: Levels whose areas are split into towns, for the between/within decomposition of M.
DECOMPOSED_LEVELS = ("state", "county", "planning_region", "cbsa")

#: The groups of the multigroup indices: they partition the population.
MULTIGROUP_PARTS = ("white_nh", "black_nh", "hispanic", "asian_nh", "other_race_nh")
MULTIGROUP = "multigroup"

#: Atkinson shape parameters and their index names.
ATKINSON_SHAPES = {"atkinson_b01": 0.1, "atkinson_b05": 0.5, "atkinson_b09": 0.9}

#: Single-group indices of the group alone (no reference group in indices.csv).
OWN_GROUP_INDICES = frozenset({"isolation", "correlation_ratio"})


@dataclass(frozen=True)
class Comparison:
    """A focal group, the group it is compared with, and the population both belong to."""

    group: str
    reference: str
    universe: str


def comparisons(groups: Iterable[str], reference_group: str) -> list[Comparison]:
    race = [Comparison(group, reference_group, "total") for group in groups]
    poverty = [
        Comparison("below_poverty", "above_poverty", "poverty_universe"),
        Comparison("below_150_poverty", "above_150_poverty", "poverty_universe"),
    ]
    return race + poverty


IndexValues = dict[tuple[str, str], "float | np.ndarray"]


def single_group_indices(group, reference, universe, reference_name: str) -> IndexValues:
    """Evenness over the pair (group vs reference), exposure within the universe.

    Arguments have shape (..., n_units); each value has the leading shape. Isolation and
    the correlation ratio concern the group alone, so they carry no reference.
    """
    values = indices.single_group_indices(
        group, reference, universe, atkinson_shapes=ATKINSON_SHAPES
    )
    return {
        (name, "" if name in OWN_GROUP_INDICES else reference_name): value
        for name, value in values.items()
    }


def multigroup_indices(parts, towns: np.ndarray | None) -> IndexValues:
    """Multigroup D, Theil's H and M (shape (..., n_units, n_groups)); with ``towns`` (a
    town code per unit), M's exact split into between- and within-town parts."""
    values: IndexValues = {
        ("multigroup_dissimilarity", ""): multigroup_dissimilarity(parts),
        ("multigroup_entropy", ""): multigroup_entropy(parts),
        ("mutual_information", ""): mutual_information(parts),
    }
    if towns is not None:
        _, between, within = mutual_information_decomposition(parts, towns)
        values[("mutual_information_between_towns", "")] = between
        values[("mutual_information_within_towns", "")] = within
    return values


#: Indices that can be negative (the others are at least 0, so intervals stop there).
SIGNED_INDICES = frozenset(
    {
        "absolute_centralization",
        "relative_centralization",
        "absolute_clustering",
        "relative_concentration",
        "relative_clustering",
    }
)


def distance_label(metres: float) -> str:
    """500 -> "500m", 1000 -> "1km", 2500 -> "2.5km": the suffix of spatial index names."""
    return f"{metres:g}m" if metres < 1000 else f"{metres / 1000:g}km"


@dataclass
class AreaGeometry:
    """What the spatial and geometric indices need of an area's tracts, built once per area:
    centroids and areas (m²), kernel weights per radius, the distance-decay proximity and
    distances to the area's centre (PySAL's default: the mean of the centroids)."""

    centroids: np.ndarray
    area: np.ndarray
    kernels: dict[float, object]
    proximity: DecayProximity
    to_centre: np.ndarray


def area_geometry(centroids: np.ndarray, area: np.ndarray, radii: Iterable[float]) -> AreaGeometry:
    return AreaGeometry(
        centroids=centroids,
        area=area,
        kernels={radius: kernel_weights(centroids, radius) for radius in radii},
        proximity=decay_proximity(centroids, area),
        to_centre=distance_to_centre(centroids, centroids.mean(axis=0)),
    )


def spatial_indices(group, reference, universe, reference_name: str, geometry: AreaGeometry):
    """Egohood (kernel) D and H per radius over the pair, distance-decay exposure, spatial
    proximity, and the concentration, centralization and clustering indices, over all the
    area's tracts (as PySAL computes them on the area's GeoDataFrame)."""
    pair = group + reference
    values: IndexValues = {}
    for radius, weights in geometry.kernels.items():
        label = distance_label(radius)
        values[(f"spatial_dissimilarity_{label}", reference_name)] = egohood_dissimilarity(
            group, pair, weights
        )
        values[(f"spatial_entropy_{label}", reference_name)] = egohood_entropy(group, pair, weights)
    proximity, area = geometry.proximity, geometry.area
    values.update(
        {
            ("distance_decay_isolation", ""): distance_decay_isolation(group, universe, proximity),
            ("distance_decay_interaction", reference_name): distance_decay_interaction(
                group, pair, proximity
            ),
            ("spatial_proximity", reference_name): spatial_proximity(group, pair, proximity),
            ("delta", ""): delta(group, universe, area),
            ("absolute_concentration", ""): absolute_concentration(group, universe, area),
            ("relative_concentration", reference_name): relative_concentration(
                group, reference, universe, area
            ),
            ("absolute_centralization", ""): absolute_centralization(
                group, universe, geometry.to_centre, area
            ),
            ("relative_centralization", reference_name): relative_centralization(
                group, reference, geometry.to_centre
            ),
            ("absolute_clustering", ""): absolute_clustering(
                group, universe, geometry.centroids, area
            ),
            ("relative_clustering", reference_name): relative_clustering(
                group, reference, geometry.centroids, area
            ),
        }
    )
    return values


@dataclass
class Area:
    level: str
    geography_id: str
    geography_name: str
    units: np.ndarray  # positions of the area's tracts in the tract table


def area_ids(tracts: pd.DataFrame, level: str, id_column: str) -> pd.Series:
    """Each tract's area ID at ``level`` as text, "" where it has none to be measured in:
    no ID, or a CBSA reaching into states outside the run (it would be measured wrongly)."""
    ids = tracts[id_column].fillna("").astype(str)
    if level == "cbsa" and "cbsa_complete" in tracts:
        ids = ids.where(tracts["cbsa_complete"].fillna(False).astype(bool), "")
    return ids


def areas(tracts: pd.DataFrame, minimum_units: Mapping[str, int]) -> list[Area]:
    """Every area of every level present in the tract table, with at least the minimum
    number of populated tracts (others are logged and left out)."""
    found = []
    populated = tracts["total"].to_numpy() > 0
    for level, (id_column, name_column) in LEVELS.items():
        if id_column not in tracts or tracts[id_column].isna().all():
            continue
        ids = area_ids(tracts, level, id_column)
        for (geography_id, geography_name), frame in tracts.groupby(
            [ids, tracts[name_column].fillna("")], sort=True
        ):
            if geography_id == "":
                continue
            positions = tracts.index.get_indexer(frame.index)
            count = int(populated[positions].sum())
            needed = int(minimum_units.get(level, 2))  # one tract cannot be uneven
            if count < needed:
                log.info(
                    "%s %s (%s): %d populated tract(s), fewer than the minimum %d; left out",
                    level, geography_id, geography_name, count, needed,
                )  # fmt: skip
                continue
            found.append(Area(level, geography_id, geography_name, positions))
    return found


def _evaluate(
    compute: Callable[..., IndexValues], point_args: tuple, drawn_args: tuple | None
) -> list[tuple[dict[str, object], np.ndarray | None]]:
    """(row with index, reference_group and value; the value's draws, or None) per index."""
    point = compute(*point_args)
    drawn = compute(*drawn_args) if drawn_args is not None else {}
    return [
        ({"index": index, "reference_group": reference, "value": float(value)},
         drawn.get((index, reference)))
        for (index, reference), value in point.items()
    ]  # fmt: skip


def _random_allocation_rows(
    group: np.ndarray,
    reference: np.ndarray,
    reference_name: str,
    settings: Mapping[str, int],
    rng: np.random.Generator,
    threads: int,
) -> list[dict[str, object]]:
    """Bias-corrected D (Allen et al. 2015) and D's one-sided p-value against random
    allocation of the pair's members to tracts, from the published (whole) counts."""
    pair = group + reference
    corrected = bias_corrected_dissimilarity(
        group, pair, draws=settings["bias_correction_draws"], rng=rng, threads=threads
    )
    test = random_allocation_test(
        group, pair, permutations=settings["permutations"], rng=rng, threads=threads
    )
    return [
        {"index": "dissimilarity_bias_corrected", "reference_group": reference_name,
         "value": float(corrected)},
        {"index": "dissimilarity_random_allocation_p", "reference_group": reference_name,
         "value": float(test.p_value)},
    ]  # fmt: skip


def compute_indices(
    tracts: pd.DataFrame,
    *,
    groups: Iterable[str],
    reference_group: str,
    unit_level: str = "tract",
    minimum_units: Mapping[str, int] | None = None,
    draws: int = 0,
    interval_level: float = 0.90,
    seed: int | list[int] = 0,
    centroids: np.ndarray | None = None,
    unit_areas: np.ndarray | None = None,
    radii: Iterable[float] = (),
    inference: Mapping[str, int] | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """Every index for every area of every level in ``tracts`` (one state-year).

    With ``draws`` > 0, ``se``, ``ci_low`` and ``ci_high`` come from that many Monte Carlo
    replicates of the tract counts (``uncertainty.simulate_tract_counts``, seeded with
    ``seed``); otherwise they are missing. ``n_units`` counts the area's tracts with
    people in the comparison's universe; ``population`` is that universe's total.

    With tract ``centroids`` (n, 2) and ``unit_areas`` (n,) in metres, the spatial and
    geometric indices are added, egohood ones at each of ``radii`` (metres). With
    ``inference`` (``bias_correction_draws``, ``permutations``), the bias-corrected D and
    the p-value of D against random allocation are added (no intervals: they are
    simulations themselves), simulated on ``threads`` threads (the values do not depend on
    the number).
    """
    tracts = tracts.reset_index(drop=True)
    names = count_names(groups, reference_group)
    check_counts(tracts, names)
    point = point_counts(tracts, names)
    drawn = simulate_tract_counts(tracts, draws=draws, seed=seed) if draws else None
    rows = []
    for row, values in index_rows(
        tracts, point, drawn, groups=groups, reference_group=reference_group,
        unit_level=unit_level, minimum_units=minimum_units, centroids=centroids,
        unit_areas=unit_areas, radii=radii, inference=inference, seed=seed, threads=threads,
    ):  # fmt: skip
        floor = None if row["index"] in SIGNED_INDICES else 0.0
        se, low, high = (
            interval(values, interval_level, float(row["value"]), floor=floor)
            if values is not None
            else (np.nan,) * 3
        )
        rows.append({**row, "se": se, "ci_low": low, "ci_high": high})
    table = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    table["n_units"] = table["n_units"].astype(np.int64)
    table["population"] = table["population"].round().astype(np.int64)
    return sort_indices(table)


def count_names(groups: Iterable[str], reference_group: str) -> list[str]:
    """The counts the indices of these comparisons read (parts and composites)."""
    tests = comparisons(list(groups), reference_group)
    return sorted(
        {c for t in tests for c in (t.group, t.reference, t.universe)} | set(MULTIGROUP_PARTS)
    )


def check_counts(tracts: pd.DataFrame, names: Iterable[str]) -> None:
    """Raise naming the column (and a tract) if a count the indices need is absent or missing."""
    years = tracts["year"].unique()
    if len(years) != 1:
        raise ValueError(f"tract table: expected one year, found {sorted(years)}")
    for name in names:
        for column in COMPOSITES.get(name, (name,)):
            if column not in tracts:
                raise ValueError(f"tract table: missing column {column!r}")
            if tracts[column].isna().any():
                example = tracts.loc[tracts[column].isna(), "geoid"].iloc[0]
                raise ValueError(f"tract table: {column} is missing for tract {example}")


def index_rows(
    tracts: pd.DataFrame,
    point: Mapping[str, np.ndarray],
    drawn: Mapping[str, np.ndarray] | None,
    *,
    groups: Iterable[str],
    reference_group: str,
    unit_level: str = "tract",
    minimum_units: Mapping[str, int] | None = None,
    centroids: np.ndarray | None = None,
    unit_areas: np.ndarray | None = None,
    radii: Iterable[float] = (),
    inference: Mapping[str, int] | None = None,
    seed: int | list[int] = 0,
    threads: int = 1,
) -> Iterator[tuple[dict[str, object], np.ndarray | None]]:
    """Each index of each area from given counts: (row of :data:`INDEX_COLUMNS` up to
    ``population``; the value's draws over ``drawn``, or None).

    ``point`` holds each count of :func:`count_names` per tract (shape (n,)), ``drawn`` the
    same with a leading axis of draws; ``tracts`` (index 0..n-1) gives the areas. Areas and
    the tracts that count in them are chosen from ``point``, so draws and scenarios built
    on the same point counts line up row for row."""
    tests = comparisons(list(groups), reference_group)
    year = int(tracts["year"].iloc[0])
    towns = pd.factorize(tracts["town_geoid"])[0]
    seeds = [seed] if isinstance(seed, int) else list(seed)
    radii = sorted(float(radius) for radius in radii)
    for area_number, area in enumerate(areas(tracts, minimum_units or {})):
        label = f"{area.level} {area.geography_id} ({area.geography_name})"
        geometry = (
            area_geometry(centroids[area.units], unit_areas[area.units], radii)
            if centroids is not None
            else None
        )
        common = {
            "year": year,
            "geography_level": area.level,
            "geography_id": area.geography_id,
            "geography_name": area.geography_name,
            "unit_level": unit_level,
        }
        for test in tests:
            units = area.units[point[test.universe][area.units] > 0]
            if point[test.group][units].sum() <= 0 or point[test.reference][units].sum() <= 0:
                log.warning("%s: no %s or no %s; their indices are left out",
                            label, test.group, test.reference)  # fmt: skip
                continue
            columns = (test.group, test.reference, test.universe)
            point_args = (*(point[n][units] for n in columns), test.reference)
            drawn_args = (*(drawn[n][:, units] for n in columns), test.reference) if drawn else None
            evaluated = _evaluate(single_group_indices, point_args, drawn_args)
            if geometry is not None:
                # Over all the area's tracts, as PySAL computes them on the area's frame.
                everyone = area.units
                spatial_point = (*(point[n][everyone] for n in columns), test.reference, geometry)
                spatial_drawn = (
                    (*(drawn[n][:, everyone] for n in columns), test.reference, geometry)
                    if drawn
                    else None
                )
                evaluated += _evaluate(spatial_indices, spatial_point, spatial_drawn)
            if inference:
                rng = np.random.default_rng([*seeds, area_number, tests.index(test)])
                evaluated += [
                    (row, None)
                    for row in _random_allocation_rows(
                        point[test.group][units], point[test.reference][units],
                        test.reference, inference, rng, threads,
                    )
                ]  # fmt: skip
            population = float(point[test.universe][units].sum())
            for row, values in evaluated:
                yield ({**common, **row, "group": test.group, "n_units": len(units),
                        "population": population}, values)  # fmt: skip
        units = area.units[point["total"][area.units] > 0]
        area_towns = towns[units] if area.level in DECOMPOSED_LEVELS else None
        point_parts = np.stack([point[p][units] for p in MULTIGROUP_PARTS], axis=-1)
        drawn_parts = (
            (np.stack([drawn[p][:, units] for p in MULTIGROUP_PARTS], axis=-1), area_towns)
            if drawn
            else None
        )
        for row, values in _evaluate(multigroup_indices, (point_parts, area_towns), drawn_parts):
            yield ({**common, **row, "group": MULTIGROUP, "n_units": len(units),
                    "population": float(point["total"][units].sum())}, values)  # fmt: skip


def sort_indices(table: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order, so the same values always give the same file."""
    level_order = {level: rank for rank, level in enumerate(LEVELS)}
    return (
        table.assign(_level=table["geography_level"].map(level_order))
        .sort_values(["year", "_level", "geography_id", "index", "group", "reference_group"])
        .drop(columns="_level")
        .reset_index(drop=True)[INDEX_COLUMNS]
    )


def write_indices_csv(table: pd.DataFrame, path, columns: Sequence[str] = INDEX_COLUMNS) -> None:
    """Write indices.csv (or a table with more ``columns``) with IDs as strings and values to
    10 significant digits (far below ACS sampling error, and free of float noise that would
    differ between platforms)."""
    table[list(columns)].to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def read_indices_csv(path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"geography_id": str, "reference_group": str},
        keep_default_na=False,
        na_values={column: [""] for column in ("value", "se", "ci_low", "ci_high")},
    )


def combine_indices(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per state-year index tables; a geography-year may appear only once."""
    combined = pd.concat(tables, ignore_index=True)
    key = ["year", "geography_level", "geography_id", "index", "group", "reference_group"]
    duplicated = combined.duplicated(key)
    if duplicated.any():
        row = combined.loc[duplicated, key].iloc[0].to_dict()
        raise ValueError(f"indices: the same value appears twice: {row}")
    return sort_indices(combined)
