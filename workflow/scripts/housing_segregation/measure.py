"""The measurement stage: every index per geography, with Monte Carlo intervals, as the
tidy ``indices.csv`` table."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import indices
from .geometric import distance_to_centre, packed_local_indices, proximity_indices
from .inference import bias_corrected_dissimilarity, random_allocation_test
from .spatial import (
    DecayProximity,
    decay_proximity,
    egohood_indices,
    kernel_weights,
    packed_weights,
)
from .uncertainty import COMPOSITES, intervals, point_counts, simulate_tract_counts

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
    "coverage",
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

#: Indices of the focal group alone: no reference group in indices.csv.
OWN_GROUP_INDICES = frozenset(
    {
        "isolation",
        "correlation_ratio",
        "distance_decay_isolation",
        "delta",
        "absolute_concentration",
        "absolute_centralization",
        "absolute_clustering",
    }
)


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


def families(tests: Iterable[Comparison]) -> dict[str, list[Comparison]]:
    """Comparisons by the universe they share (in order): each family is measured at once."""
    found: dict[str, list[Comparison]] = {}
    for test in tests:
        found.setdefault(test.universe, []).append(test)
    return found


def _parts(name: str) -> set[str]:
    return set(COMPOSITES.get(name, (name,)))


def count_relation(
    tests: Sequence[Comparison], universe: str, point: Mapping[str, np.ndarray]
) -> dict[str, object]:
    """How a family's counts sum to one another, for :func:`geometric.proximity_indices`:
    ``others_are_rest`` when each reference is the universe less its group (the poverty
    pairs), ``universe_from=k`` when comparison k's group and reference make up the
    universe (non-white and white in the total), else nothing. Read from the parts each
    count sums (:data:`uncertainty.COMPOSITES`, as the draws are built), and kept only if
    the published counts ``point`` agree (to 1e-9), so counts made otherwise are measured
    as given."""
    whole = _parts(universe)

    def splits(test: Comparison) -> bool:
        group, reference = _parts(test.group), _parts(test.reference)
        return (
            not group & reference
            and group | reference == whole
            and np.allclose(
                point[test.group] + point[test.reference], point[universe], rtol=1e-9, atol=0
            )
        )

    if tests and all(splits(test) for test in tests):
        return {"others_are_rest": True}
    return next(({"universe_from": k} for k, test in enumerate(tests) if splits(test)), {})


#: Index name -> values, each of shape (n_comparisons, batch) (multigroup: (batch,)).
IndexValues = dict[str, np.ndarray]


def single_group_indices(group, reference, universe) -> IndexValues:
    """Evenness over the pair (group vs reference), exposure within the universe.

    Arguments have shape (..., n_units); each value has the leading shape."""
    return indices.single_group_indices(group, reference, universe, atkinson_shapes=ATKINSON_SHAPES)


def multigroup_indices(parts, towns: np.ndarray | None) -> IndexValues:
    """Multigroup D, Theil's H and M (shape (..., n_units, n_groups)); with ``towns`` (a
    town code per unit), M's exact split into between- and within-town parts."""
    values = indices.multigroup_indices(parts, towns)
    return {
        f"{name}_towns" if name.endswith(("_between", "_within")) else name: value
        for name, value in values.items()
    }


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


@dataclass
class PackGeometry:
    """The geometry of a pack of areas (:func:`packs`): each area's own, and per radius the
    areas' kernel weights as one block-diagonal matrix over the padded units, in double
    precision (``kernels``, for the published counts) and in single (for the draws)."""

    areas: list[AreaGeometry]
    kernels: dict[float, object]

    @functools.cached_property
    def single_kernels(self) -> dict[float, object]:
        """``kernels`` in single precision, made when the draws first need them (a run
        without draws never does)."""
        return {radius: weights.astype(np.float32) for radius, weights in self.kernels.items()}


def pack_geometry(geometries: list[AreaGeometry], width: int) -> PackGeometry:
    if len(geometries) == 1 and len(geometries[0].area) == width:
        kernels = geometries[0].kernels
    else:
        kernels = {
            radius: packed_weights([g.kernels[radius] for g in geometries], width)
            for radius in geometries[0].kernels
        }
    return PackGeometry(geometries, kernels)


#: The precision of the draws' egohood indices: single is about twice as fast, and moves a
#: draw's value by about 10⁻⁶ of itself, far inside the interval (tests/test_measure.py).
#: The published counts are always measured in double precision.
DRAWS_EGOHOOD_DTYPE = np.float32


#: Counts per comparison array in one pass of the local spatial indices (16 MB in double
#: precision): the draws are taken in chunks, so memory stays bounded at any size. Chunks
#: of 2 MB measured slower on large areas (many passes per area; README's benchmark).
_SPATIAL_CHUNK_VALUES = 2**21


def spatial_indices(
    group,
    reference,
    universe,
    geometry: PackGeometry,
    widths: Sequence[int],
    relation: Mapping[str, object] | None = None,
) -> list[IndexValues]:
    """Egohood (kernel) D and H per radius over the pair, distance-decay exposure, spatial
    proximity, and the concentration, centralization and clustering indices, over all of
    each area's tracts (as PySAL computes them on the area's GeoDataFrame), for the areas
    of a pack. Counts have shape (n_comparisons, batch, n_areas, width), the universe
    (batch, n_areas, width); area k's units are the first ``widths[k]``, the rest padding.
    Each area's values have shape (n_comparisons, batch).

    Every draw of the batch is computed on its own, so the chunks change no value; the
    egohood indices of the draws are computed in :data:`DRAWS_EGOHOOD_DTYPE`. The indices
    over the n × n proximity matrix take the whole batch in one pass over it (its blocks,
    not the counts, bound their memory): rebuilding the matrix for each chunk would cost
    more than the products. The batch's first position is the published counts: the
    draws after it are multiplied by that matrix in single precision (see
    :func:`geometric.proximity_indices`), and ``relation`` (:func:`count_relation`) spares
    the product of a count that is the sum of others."""
    batch = group.shape[-3]
    size = max(1, _SPATIAL_CHUNK_VALUES // group[..., 0, :, :].size)
    chunks = [(0, 1)] + [(start, min(start + size, batch)) for start in range(1, batch, size)]
    parts = [
        _local_indices(
            *(values[..., start:stop, :, :] for values in (group, reference, universe)),
            geometry,
            drawn=start > 0,
        )
        for start, stop in chunks
    ]
    found = []
    for area, (own, width) in enumerate(zip(geometry.areas, widths, strict=True)):
        values = {name: np.concatenate([part[area][name] for part in parts], axis=-1)
                  for name in parts[0][area]}  # fmt: skip
        own_counts = (counts[..., area, :width] for counts in (group, reference, universe))
        values.update(
            proximity_indices(
                *own_counts, own.proximity, single_precision_from=1, **(relation or {})
            )
        )
        found.append(values)
    return found


def _local_indices(
    group, reference, universe, geometry: PackGeometry, drawn: bool
) -> list[IndexValues]:
    pair = group + reference
    packed: list[IndexValues] = [{} for _ in geometry.areas]
    dtype = DRAWS_EGOHOOD_DTYPE if drawn else np.float64
    kernels = geometry.single_kernels if dtype == np.float32 else geometry.kernels
    own, everyone = group.astype(dtype, copy=False), pair.astype(dtype, copy=False)
    for radius, weights in kernels.items():
        label = distance_label(radius)
        egohood = egohood_indices(own, everyone, weights, packed=True)
        for area, values in enumerate(packed):
            values[f"spatial_dissimilarity_{label}"] = egohood["dissimilarity"][..., area]
            values[f"spatial_entropy_{label}"] = egohood["entropy"][..., area]
    local = packed_local_indices(
        group,
        reference,
        universe,
        [own.area for own in geometry.areas],
        [own.to_centre for own in geometry.areas],
    )
    for area, values in enumerate(packed):
        values.update({name: value[..., area] for name, value in local.items()})
    return packed


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


def areas(
    tracts: pd.DataFrame, minimum_units: Mapping[str, int], levels: Iterable[str] | None = None
) -> list[Area]:
    """Every area of every level present in the tract table (or of ``levels`` only), with at
    least the minimum number of populated tracts (others are logged and left out)."""
    found = []
    populated = tracts["total"].to_numpy() > 0
    wanted = set(LEVELS) if levels is None else set(levels)
    for level, (id_column, name_column) in LEVELS.items():
        if level not in wanted or id_column not in tracts or tracts[id_column].isna().all():
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


def _random_allocation_values(
    group: np.ndarray,
    reference: np.ndarray,
    settings: Mapping[str, int],
    rng: np.random.Generator,
    threads: int,
) -> IndexValues:
    """Bias-corrected D (Allen et al. 2015) and D's one-sided p-value against random
    allocation of the pair's members to tracts, from the published (whole) counts of each
    comparison (shape (n_comparisons, n_units); a shared reference may be (n_units,)):
    values of shape (n_comparisons, 1)."""
    pair = group + reference
    corrected = bias_corrected_dissimilarity(
        group, pair, draws=settings["bias_correction_draws"], rng=rng, threads=threads
    )
    test = random_allocation_test(
        group, pair, permutations=settings["permutations"], rng=rng, threads=threads
    )
    return {
        "dissimilarity_bias_corrected": np.asarray(corrected)[:, None],
        "dissimilarity_random_allocation_p": np.asarray(test.p_value)[:, None],
    }


@dataclass
class MeasuredArea:
    """One area's rows: the columns of :data:`INDEX_COLUMNS` up to ``population``, and each
    row's values over the batch (``values[:, 0]`` from the published counts, then one
    column per draw). ``simulated`` is False for rows without draws (the inference rows,
    whose draw columns are NaN)."""

    columns: dict[str, list]
    values: np.ndarray
    simulated: np.ndarray


class _Rows:
    """Collects an area's rows, a family of comparisons (or the multigroup indices) at a
    time."""

    def __init__(self, common: Mapping[str, object], batch: int):
        self.common, self.batch = common, batch
        self.columns: dict[str, list] = {
            name: [] for name in (*common, "index", "group", "reference_group", "n_units",
                                  "population")
        }  # fmt: skip
        self.values: list[np.ndarray] = []
        self.simulated: list[bool] = []

    def add(self, values: IndexValues, tests: Sequence[Comparison | None], n_units: int,
            population: float) -> None:  # fmt: skip
        """``values``: name -> (len(tests), batch or 1); a test of None is the multigroup
        row (values of shape (batch,))."""
        for name, value in values.items():
            value = np.asarray(value, dtype=np.float64).reshape(len(tests), -1)
            for test, row in zip(tests, value, strict=True):
                for column, entry in self.common.items():
                    self.columns[column].append(entry)
                self.columns["index"].append(name)
                self.columns["group"].append(MULTIGROUP if test is None else test.group)
                self.columns["reference_group"].append(
                    "" if test is None or name in OWN_GROUP_INDICES else test.reference
                )
                self.columns["n_units"].append(n_units)
                self.columns["population"].append(population)
                simulated = row.size == self.batch
                self.simulated.append(simulated and self.batch > 1)
                self.values.append(row if simulated else np.r_[row, [np.nan] * (self.batch - 1)])

    def measured(self) -> MeasuredArea:
        values = np.array(self.values).reshape(-1, self.batch)
        return MeasuredArea(self.columns, values, np.array(self.simulated, dtype=bool))


#: Areas of at most this many tracts are measured in packs: a small area's indices cost
#: as much in per-call overhead as in arithmetic (a town of a dozen block groups), so the
#: areas of a pack are padded with empty units to one width and measured as one batch.
_PACK_LIMIT = 256

#: Padded units in a pack (its areas × the width): with 200 draws, packs much larger than
#: this measured slower (arrays far beyond the cache), as did areas one at a time.
_PACK_UNITS = 256


def packs(found: Sequence[Area]) -> list[list[tuple[int, Area]]]:
    """The areas (with their position in ``found``) in the packs they are measured in: a
    large area alone, small ones by size, together while the pack has at most
    :data:`_PACK_UNITS` padded units. Areas whose multigroup M is split into towns are
    packed apart from the others (their split is computed per area)."""
    numbered = list(enumerate(found))
    result = [[item] for item in numbered if len(item[1].units) > _PACK_LIMIT]
    small = sorted(
        (item for item in numbered if len(item[1].units) <= _PACK_LIMIT),
        key=lambda item: (item[1].level in DECOMPOSED_LEVELS, len(item[1].units), item[0]),
    )
    pack: list[tuple[int, Area]] = []
    for item in small:
        decomposed = item[1].level in DECOMPOSED_LEVELS
        if pack and (
            (len(pack) + 1) * len(item[1].units) > _PACK_UNITS
            or (pack[0][1].level in DECOMPOSED_LEVELS) != decomposed
        ):
            result.append(pack)
            pack = []
        pack.append(item)
    if pack:
        result.append(pack)
    return result


def padded(unit_lists: Sequence[np.ndarray]) -> np.ndarray:
    """Positions of each area's units, (n_areas, width), padded with -1 to the widest."""
    width = max(len(units) for units in unit_lists)
    positions = np.full((len(unit_lists), width), -1, dtype=np.intp)
    for row, units in zip(positions, unit_lists, strict=True):
        row[: len(units)] = units
    return positions


def measured_areas(
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
    levels: Iterable[str] | None = None,
) -> Iterator[MeasuredArea]:
    """Each index of each area from given counts, a pack of areas (:func:`packs`) at a time.

    ``point`` holds each count of :func:`count_names` per tract (shape (n,)), ``drawn`` the
    same with a leading axis of draws; ``tracts`` (index 0..n-1) gives the areas. Areas and
    the tracts that count in them are chosen from ``point``, so draws and scenarios built
    on the same point counts line up row for row.

    The published counts and the draws are one batch (published first), and the
    comparisons sharing a universe (the race groups in the total population; the poverty
    groups in the poverty universe) are measured together: every index is one vectorised
    call per pack and family, and an index undefined on the published counts (e.g.
    concentration in a 3-tract area with a large majority) is NaN, not an error."""
    tests = comparisons(list(groups), reference_group)
    year = int(tracts["year"].iloc[0])
    towns = pd.factorize(tracts["town_geoid"])[0]
    seeds = [seed] if isinstance(seed, int) else list(seed)
    radii = sorted(float(radius) for radius in radii)
    batch = 1 + (len(next(iter(drawn.values()))) if drawn else 0)
    relations: dict[tuple[tuple[Comparison, ...], str], dict[str, object]] = {}

    def stacked(names: list[str], positions: np.ndarray) -> np.ndarray:
        """The counts of ``names`` at ``positions`` (n_areas, width; -1 for padding),
        published then drawn: (len(names), batch, n_areas, width), 0 in the padding,
        filled in place (a large area's counts are not copied twice)."""
        out = np.empty((len(names), batch, *positions.shape))
        padding = positions < 0
        for values, name in zip(out, names, strict=True):
            values[0] = point[name][positions]
            if drawn is not None:
                values[1:] = drawn[name][:, positions]
            if padding.any():
                values[:, padding] = 0.0
        return out

    def counts(name: str, positions: np.ndarray) -> np.ndarray:
        return stacked([name], positions)[0]

    def references(tests: list[Comparison], positions: np.ndarray) -> np.ndarray:
        """The comparisons' reference counts, (n_comparisons, batch, n_areas, width), or
        (batch, n_areas, width) when they share one (the race groups against white
        residents): the indices broadcast it, and work on it is done once."""
        names = {test.reference for test in tests}
        if len(names) == 1:
            return counts(names.pop(), positions)
        return stacked([test.reference for test in tests], positions)

    def measure_family(pack: list[tuple[int, Area]], geometry: PackGeometry | None,
                       rows: list[_Rows], family_number: int, universe: str,
                       family: list[Comparison]) -> None:  # fmt: skip
        """Add the rows of one family (comparisons sharing a universe) in a pack of areas.
        Its counts live only as long as this call: a large area's are let go before the
        next."""
        populated = [area.units[point[universe][area.units] > 0] for _, area in pack]
        measurable = []
        for (_, area), units in zip(pack, populated, strict=True):
            measurable.append([])
            for test in family:
                if point[test.group][units].sum() > 0 and point[test.reference][units].sum() > 0:
                    measurable[-1].append(test)
                else:
                    log.warning("%s %s (%s): no %s or no %s; their indices are left out",
                                area.level, area.geography_id, area.geography_name,
                                test.group, test.reference)  # fmt: skip
        measured = [test for test in family if any(test in tests for tests in measurable)]
        if not measured:
            return
        sizes = [(len(units), float(point[universe][units].sum())) for units in populated]
        # Per area, the rows of its measurable comparisons among those measured.
        chosen = [[measured.index(test) for test in tests] for tests in measurable]

        def add(area: int, values: IndexValues) -> None:
            """Area ``area``'s rows of ``values`` (name -> (len(measured), ...))."""
            if chosen[area]:
                own = {name: np.asarray(value)[chosen[area]] for name, value in values.items()}
                rows[area].add(own, measurable[area], *sizes[area])

        positions = padded(populated)
        group = stacked([test.group for test in measured], positions)
        reference = references(measured, positions)
        people = counts(universe, positions)
        aspatial = single_group_indices(group, reference, people)
        for area in range(len(pack)):
            add(area, {name: value[..., area] for name, value in aspatial.items()})
        published = [  # each area's own published counts, for the inference
            (group[:, 0, area, : len(units)].copy(), reference[..., 0, area, : len(units)].copy())
            for area, units in enumerate(populated)
            if inference
        ]
        if geometry is not None:
            # Over all the areas' tracts, as PySAL computes them on an area's frame: the
            # same counts when every tract has people; if not, those of the tracts with
            # people are let go first, so a large area never holds both.
            everyone = [area.units for _, area in pack]
            if any(
                len(all_units) > len(units)
                for all_units, units in zip(everyone, populated, strict=True)
            ):
                group = reference = people = None
                positions = padded(everyone)
                group = stacked([test.group for test in measured], positions)
                reference = references(measured, positions)
                people = counts(universe, positions)
            widths = [len(units) for units in everyone]
            key = (tuple(measured), universe)
            if key not in relations:  # checked over the whole table once, not per pack
                relations[key] = count_relation(measured, universe, point)
            relation = relations[key]
            for area, values in enumerate(
                spatial_indices(group, reference, people, geometry, widths, relation)
            ):
                add(area, values)
        if inference:
            for area, (area_number, _) in enumerate(pack):
                if not chosen[area]:
                    continue
                own_group, own_reference = published[area]
                if own_reference.ndim == 2:  # one reference per comparison
                    own_reference = own_reference[chosen[area]]
                rng = np.random.default_rng([*seeds, area_number, family_number])
                values = _random_allocation_values(
                    own_group[chosen[area]], own_reference, inference, rng, threads
                )
                rows[area].add(values, measurable[area], *sizes[area])

    def measure_multigroup(pack: list[tuple[int, Area]], rows: list[_Rows]) -> None:
        populated = [area.units[point["total"][area.units] > 0] for _, area in pack]
        positions = padded(populated)
        parts = np.empty((batch, *positions.shape, len(MULTIGROUP_PARTS)))
        for position, name in enumerate(MULTIGROUP_PARTS):
            parts[..., position] = counts(name, positions)
        decomposed = pack[0][1].level in DECOMPOSED_LEVELS
        if len(pack) == 1:
            values = [multigroup_indices(parts[:, 0], towns[populated[0]] if decomposed else None)]
        else:
            together = multigroup_indices(parts, None)
            values = [{name: value[..., area] for name, value in together.items()}
                      for area in range(len(pack))]  # fmt: skip
            if decomposed:
                for area, units in enumerate(populated):
                    split = indices.mutual_information_decomposition(
                        parts[:, area, : len(units)], towns[units]
                    )
                    values[area]["mutual_information_between_towns"] = split.between
                    values[area]["mutual_information_within_towns"] = split.within
        for own, units, area_rows in zip(values, populated, rows, strict=True):
            area_rows.add(own, [None], len(units), float(point["total"][units].sum()))

    found = areas(tracts, minimum_units or {}, levels)
    for pack in packs(found):
        if centroids is not None:
            geometries = [
                area_geometry(centroids[area.units], unit_areas[area.units], radii)
                for _, area in pack
            ]
            geometry = pack_geometry(geometries, max(len(area.units) for _, area in pack))
        else:
            geometry = None
        rows = [
            _Rows(
                {
                    "year": year,
                    "geography_level": area.level,
                    "geography_id": area.geography_id,
                    "geography_name": area.geography_name,
                    "unit_level": unit_level,
                },
                batch,
            )
            for _, area in pack
        ]
        for family_number, (universe, family) in enumerate(families(tests).items()):
            measure_family(pack, geometry, rows, family_number, universe, family)
        measure_multigroup(pack, rows)
        yield from (area_rows.measured() for area_rows in rows)


def index_rows(
    tracts: pd.DataFrame,
    point: Mapping[str, np.ndarray],
    drawn: Mapping[str, np.ndarray] | None,
    **settings,
) -> Iterator[tuple[dict[str, object], np.ndarray | None]]:
    """Each index of each area as (row of :data:`INDEX_COLUMNS` up to ``population``; the
    value's draws over ``drawn``, or None): :func:`measured_areas` (same arguments) a row
    at a time."""
    for measured in measured_areas(tracts, point, drawn, **settings):
        names = list(measured.columns)
        for position, entries in enumerate(zip(*measured.columns.values(), strict=True)):
            row = dict(zip(names, entries, strict=True))
            row["value"] = float(measured.values[position, 0])
            draws = measured.values[position, 1:] if measured.simulated[position] else None
            yield row, draws


#: Rows of index values gathered before they become a frame with intervals (about 6 MB
#: with 200 draws).
_FRAME_ROWS = 4096


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
    levels: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every index for every area of every level in ``tracts`` (one state-year), or of
    ``levels`` only (a CBSA measured from several states' tracts).

    With ``draws`` > 0, ``se``, ``ci_low`` and ``ci_high`` come from that many Monte Carlo
    replicates of the tract counts (``uncertainty.simulate_tract_counts``, seeded with
    ``seed``); otherwise they are missing. ``n_units`` counts the area's tracts with
    people in the comparison's universe; ``population`` is that universe's total. An index
    undefined on the published counts has an empty value and interval.

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
    # The draws in single precision: a large state's are the job's largest arrays, and 7
    # significant digits of a simulated count are more than its interval can show.
    drawn = (
        simulate_tract_counts(tracts, draws=draws, seed=seed, names=names, dtype=np.float32)
        if draws
        else None
    )
    parts: list[pd.DataFrame] = []
    pending: list[MeasuredArea] = []
    pending_rows = 0

    def flush() -> None:
        """The pending areas' rows as one frame: a frame and a pass of the intervals per
        area cost more than the indices of a small one (a town of a few block groups)."""
        if not pending:
            return
        columns = {name: [entry for area in pending for entry in area.columns[name]]
                   for name in pending[0].columns}  # fmt: skip
        values = np.concatenate([area.values for area in pending])
        part = pd.DataFrame(columns)
        part["value"] = values[:, 0]
        if drawn:
            floors = np.where(part["index"].isin(SIGNED_INDICES), np.nan, 0.0)
            part["se"], part["ci_low"], part["ci_high"] = intervals(
                values[:, 1:], interval_level, values[:, 0], floors
            )
        parts.append(part)
        pending.clear()
        nonlocal pending_rows
        pending_rows = 0

    for measured in measured_areas(
        tracts, point, drawn, groups=groups, reference_group=reference_group,
        unit_level=unit_level, minimum_units=minimum_units, centroids=centroids,
        unit_areas=unit_areas, radii=radii, inference=inference, seed=seed, threads=threads,
        levels=levels,
    ):  # fmt: skip
        pending.append(measured)
        pending_rows += len(measured.values)
        if pending_rows >= _FRAME_ROWS:
            flush()
    flush()
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table = table.reindex(columns=INDEX_COLUMNS)
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


#: ``coverage`` of a row: measured from every tract of the area, or from part of them (a CBSA
#: crossing into a state whose tracts the run could not read; housing_segregation.cross_state).
COMPLETE = "complete"
PARTIAL = "partial"


def with_coverage(table: pd.DataFrame, coverage: str) -> pd.DataFrame:
    """``table`` (rows of :data:`INDEX_COLUMNS`) with its ``coverage`` set on every row."""
    if coverage not in (COMPLETE, PARTIAL):
        raise ValueError(f"coverage: {coverage!r} is not {COMPLETE!r} or {PARTIAL!r}")
    return table.assign(coverage=coverage)[INDEX_COLUMNS]
