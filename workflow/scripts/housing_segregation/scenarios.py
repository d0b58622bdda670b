"""Policy scenarios: steps that move or add households, and what they do to segregation.

A scenario is a sequence of steps (``config/scenarios.yaml``). Each step changes a
:class:`State`: the tract counts of every race and poverty-ratio part (persons), the
project-based assisted units per tract and the voucher households per tract. Steps decide
*where* from published data (poverty rates, R/ECAPs, town lists), as a policy would; *who*
moves is drawn.

- **Point run**: published counts, expected moves (each household a mix of its pool).
- **Monte Carlo**: ACS counts drawn from their margins of error
  (:func:`uncertainty.simulate_tract_counts`, the measurement stage's stream), then the
  step's random parts drawn: each household's race and poverty bin (multinomial over its
  pool), and which voucher holders move (binomial). Every scenario starts from the same
  count draws, and step *k* of every scenario uses the same random stream, so the
  differences between scenarios are not swamped by sampling noise (common random
  numbers); the voucher take-up is drawn by inverse CDF from common uniforms, so a higher
  take-up makes a superset of households want to move.

Households become persons at the region's persons per household (ACS population over
occupied units). Who is in a pool is estimated per tract, with race and income taken as
independent within a tract (the ACS tract tables give no race-by-poverty count): the
low-income pool of a tract is its residents times its share below 200% of poverty.

Steps (parameters and defaults: ``workflow/schemas/scenarios.schema.yaml``):

- ``fair_share`` and ``gap_to_threshold``: new units by town (:mod:`allocation`), sited in
  tracts, occupied from the regional pool, as net new supply or a zero-sum relocation
  (the occupants leave their tracts in proportion to each tract's share of the pool);
- ``rebalance``: a share of the assisted units in R/ECAPs (or in tracts where they exceed a
  share of homes) moves, with its residents, to sited tracts of the same region;
- ``voucher_mobility``: voucher households in high-poverty tracts move with probability p to
  low-poverty tracts with room (a share of their rental units), within their town or
  their region;
- ``income_mixing``: non-poor households added to high-poverty tracts; tracts where they
  exceed a share of the homes are flagged for displacement risk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from . import allocation
from .uncertainty import COMPOSITES, POVERTY_PARTS, RACE_PARTS

log = logging.getLogger(__name__)

#: Poverty-ratio bins of the low-income pool (under 2.00 × the poverty line) and of the
#: non-poor (2.00 and over).
LOW_INCOME_BINS = POVERTY_PARTS[:6]
NON_POOR_BINS = POVERTY_PARTS[6:]

#: The counts a state carries: every race and poverty-ratio part.
PARTS = (*RACE_PARTS, *POVERTY_PARTS)

#: Columns the scenario context needs per tract.
CONTEXT_COLUMNS = (
    "geoid",
    "total",
    "town_geoid",
    "region_geoid",
    "households",
    "renters",
    "poverty_rate",
    "recap",
    "assisted_units",
    "voucher_households",
    "siting_model_weight",
)


@dataclass
class Context:
    """What the steps read and never change: one row per tract (index 0..n-1) with
    :data:`CONTEXT_COLUMNS`, the towns for allocation (:data:`allocation.TOWN_COLUMNS`),
    and, derived, each tract's region code and its region's persons per household."""

    tracts: pd.DataFrame
    towns: pd.DataFrame
    persons_per_household: np.ndarray = field(init=False)
    region_codes: np.ndarray = field(init=False)
    town_codes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        missing = [c for c in CONTEXT_COLUMNS if c not in self.tracts.columns]
        if missing:
            raise ValueError(f"scenario tracts: missing column(s) {missing}")
        self.tracts = self.tracts.reset_index(drop=True)
        self.region_codes = pd.factorize(self.tracts["region_geoid"])[0]
        if (self.region_codes < 0).any():
            raise ValueError("scenario tracts: every tract needs a region_geoid")
        # A tract without a town is a jurisdiction of its own, never merged into another.
        towns = pd.factorize(self.tracts["town_geoid"])[0]
        townless = towns < 0
        towns[townless] = towns.max() + 1 + np.arange(int(townless.sum()))
        self.town_codes = towns
        self.persons_per_household = persons_per_household(
            self.tracts["total"].to_numpy(dtype=float),
            self.tracts["households"].to_numpy(dtype=float),
            self.region_codes,
        )


def persons_per_household(people: np.ndarray, households: np.ndarray, regions: np.ndarray):
    """Each tract's region's people per occupied home (ACS population / households)."""
    count = regions.max() + 1
    people_by_region = np.bincount(regions, weights=people, minlength=count)
    homes_by_region = np.bincount(regions, weights=households, minlength=count)
    if (homes_by_region <= 0).any():
        raise ValueError("scenario tracts: a region has no households")
    return (people_by_region / homes_by_region)[regions]


@dataclass
class State:
    """What steps change. ``counts``: part -> persons per tract, shape (k, n) (k = 1 for the
    point run, the number of draws otherwise); ``assisted``: project-based units per tract
    (n,); ``vouchers``: voucher households (k, n); ``flags``: named tract flags (n,);
    ``allocations``: the town tables of allocation steps."""

    counts: dict[str, np.ndarray]
    assisted: np.ndarray
    vouchers: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    allocations: list[pd.DataFrame] = field(default_factory=list)

    def copy(self) -> State:
        return State(
            counts={name: values.copy() for name, values in self.counts.items()},
            assisted=self.assisted.copy(),
            vouchers=self.vouchers.copy(),
            flags=dict(self.flags),
            allocations=list(self.allocations),
        )

    @property
    def draws(self) -> int:
        return next(iter(self.counts.values())).shape[0]


def initial_state(counts: Mapping[str, np.ndarray], context: Context) -> State:
    """A state from counts of :data:`PARTS`, each (n,) or (k, n), and the context's units."""
    stacked = {name: np.atleast_2d(np.asarray(counts[name], dtype=np.float64)) for name in PARTS}
    k = next(iter(stacked.values())).shape[0]
    vouchers = context.tracts["voucher_households"].fillna(0).to_numpy(dtype=np.float64)
    return State(
        counts=stacked,
        assisted=context.tracts["assisted_units"].to_numpy(dtype=np.float64).copy(),
        vouchers=np.broadcast_to(vouchers, (k, len(vouchers))).copy(),
    )


def with_composites(counts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The parts and every composite of :data:`uncertainty.COMPOSITES` (sums of parts)."""
    result = dict(counts)
    for name, parts in COMPOSITES.items():
        result[name] = sum(counts[part] for part in parts)
    return result


# --------------------------------------------------------------------------------------------
# Pools: who fills a unit, who moves
# --------------------------------------------------------------------------------------------


def _share_of_poverty_universe(counts: Mapping[str, np.ndarray], bins: Sequence[str]):
    universe = sum(counts[b] for b in POVERTY_PARTS)
    part = sum(counts[b] for b in bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(universe > 0, part / np.where(universe > 0, universe, 1), 0.0)


def tract_pools(counts: Mapping[str, np.ndarray], pool: str) -> tuple[np.ndarray, np.ndarray]:
    """Each tract's pool members by race part and by poverty bin: (k, n, races), (k, n, bins).

    ``low_income``: residents times the tract's share below 200% of poverty, and the
    poverty bins under 2.00; ``non_poor``: residents times the share at 2.00 and over, and
    that bin; ``everyone``: all residents and all bins."""
    if pool == "low_income":
        bins, share = LOW_INCOME_BINS, _share_of_poverty_universe(counts, LOW_INCOME_BINS)
    elif pool == "non_poor":
        bins, share = NON_POOR_BINS, _share_of_poverty_universe(counts, NON_POOR_BINS)
    elif pool == "everyone":
        bins, share = POVERTY_PARTS, 1.0
    else:
        raise ValueError(f"pool: expected low_income, non_poor or everyone, got {pool!r}")
    races = np.stack([counts[r] * share for r in RACE_PARTS], axis=-1)
    poverty = np.stack(
        [counts[b] if b in bins else np.zeros_like(counts[b]) for b in POVERTY_PARTS], axis=-1
    )
    return races, poverty


def pool_members(state: State, context: Context, pool: str) -> tuple[np.ndarray, np.ndarray]:
    """A pool's members per tract by race part and poverty bin, in persons: the pools of
    :func:`tract_pools`, or ``subsidized_residents``: the residents of today's assisted
    units, estimated as each host tract's low-income mix times its units' persons."""
    if pool != "subsidized_residents":
        return tract_pools(state.counts, pool)
    races, bins = tract_pools(state.counts, "low_income")
    persons = (state.assisted * context.persons_per_household)[None, :, None]
    # No tract gives up more of a part than it has.
    present_races = np.stack([state.counts[p] for p in RACE_PARTS], axis=-1)
    present_bins = np.stack([state.counts[p] for p in POVERTY_PARTS], axis=-1)
    return (
        np.minimum(tract_mix(races) * persons, present_races),
        np.minimum(tract_mix(bins) * persons, present_bins),
    )


def regional_mix(
    members: np.ndarray, regions: np.ndarray, households: np.ndarray | None = None
) -> np.ndarray:
    """The mix (shares summing to 1) of pool members (k, n, parts) per region, given back per
    tract: (k, n, parts). A region whose pool is empty gets equal shares, unless it has
    ``households`` (n,) to fill: then it raises."""
    k, _, parts = members.shape
    count = regions.max() + 1
    totals = np.zeros((k, count, parts))
    np.add.at(totals, (slice(None), regions), members)
    sums = totals.sum(axis=-1, keepdims=True)
    empty = (sums <= 0)[..., 0]
    if households is not None and empty.any():
        to_fill = np.bincount(regions, weights=np.asarray(households, dtype=float),
                              minlength=count)  # fmt: skip
        if (empty & (to_fill > 0)[None, :]).any():
            raise ValueError("scenario: a region with households to place has nobody in the pool")
    with np.errstate(divide="ignore", invalid="ignore"):
        mix = np.where(sums > 0, totals / np.where(sums > 0, sums, 1), 1.0 / parts)
    return mix[:, regions]


def tract_mix(members: np.ndarray) -> np.ndarray:
    """Each tract's own pool mix (k, n, parts); a tract with an empty pool gets equal shares."""
    sums = members.sum(axis=-1, keepdims=True)
    equal = np.full(members.shape, 1.0 / members.shape[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums > 0, members / np.where(sums > 0, sums, 1), equal)


def compose(households: np.ndarray, mix: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Households by part: (k, n, parts) from households per tract ((n,) or (k, n)) and the
    mix they are drawn from (k, n, parts). Expected counts without ``rng``, multinomial
    draws with it (households rounded to whole ones)."""
    households = np.broadcast_to(households, mix.shape[:-1])
    if rng is None:
        return households[..., None] * mix
    whole = np.rint(households).astype(np.int64)
    # Rounding can push shares a hair over 1 in sum; the multinomial refuses that.
    pvals = mix / mix.sum(axis=-1, keepdims=True)
    return rng.multinomial(whole, pvals).astype(np.float64)


def _add(state: State, by_race: np.ndarray, by_bin: np.ndarray, persons: np.ndarray) -> None:
    """Add households (k, n, parts) as persons at ``persons`` per household (n,)."""
    for index, part in enumerate(RACE_PARTS):
        state.counts[part] = state.counts[part] + by_race[..., index] * persons
    for index, part in enumerate(POVERTY_PARTS):
        state.counts[part] = state.counts[part] + by_bin[..., index] * persons


def _remove(
    state: State, by_race: np.ndarray, by_bin: np.ndarray, persons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Take households (k, n, parts) away from their tracts, as persons at ``persons`` per
    household; returns the households actually taken, by part.

    Movers are drawn from a tract's estimated pool, which can hold fewer of a part than the
    movers drawn (a small group, a voucher count above the tract's low-income residents): a
    count stops at zero, only what was there moves, and the shortfall is logged."""
    taken = []
    short = 0.0
    for parts, values in ((RACE_PARTS, by_race), (POVERTY_PARTS, by_bin)):
        moved = np.empty_like(values)
        for index, part in enumerate(parts):
            before = state.counts[part]
            after = np.maximum(before - values[..., index] * persons, 0.0)
            state.counts[part] = after
            moved[..., index] = (before - after) / persons
            short += float((values[..., index] - moved[..., index]).sum())
        taken.append(moved)
    if short > 0.5:
        log.info("movers exceed their tracts' counts by %.0f household-draws; only those "
                 "present move", short)  # fmt: skip
    return taken[0], taken[1]


def _relocate_from_pool(
    state: State,
    context: Context,
    by_race: np.ndarray,
    by_bin: np.ndarray,
    pool: str,
    *,
    drawn: bool,
) -> None:
    """Zero-sum: the occupants (households by part, (k, n, parts), placed per tract) leave
    the region's tracts in proportion to each tract's share of the region's pool members
    of their part.

    The point run refuses to move more people of a part than the region's pool has. A draw
    can: the occupants' parts are drawn one household at a time, so a small group (a few
    dozen Pacific Islanders in a region) can be drawn more often than the pool holds. Then
    the whole pool of that part leaves and the excess is logged."""
    persons = context.persons_per_household
    regions = context.region_codes
    members_race, members_bin = pool_members(state, context, pool)
    for members, placed, parts in (
        (members_race, by_race, RACE_PARTS), (members_bin, by_bin, POVERTY_PARTS),
    ):  # fmt: skip
        # Persons of each part leaving each region, then spread over its tracts by pool share.
        count = regions.max() + 1
        leaving = np.zeros((placed.shape[0], count, placed.shape[-1]))
        np.add.at(leaving, (slice(None), regions), placed * persons[:, None])
        pool_size = np.zeros_like(leaving)
        np.add.at(pool_size, (slice(None), regions), members)
        over = leaving > pool_size + 1e-6
        if over.any():
            _, region, part = (int(i[0]) for i in np.nonzero(over))
            if not drawn:
                name = context.tracts["region_geoid"][context.region_codes == region].iloc[0]
                raise ValueError(
                    f"scenario: a relocation moves {leaving[0, region, part]:.0f} {parts[part]} "
                    f"out of region {name}, whose {pool} pool has {pool_size[0, region, part]:.0f}"
                )
            log.info("relocation: drawn occupants exceed the pool in %d draw-region-part(s) "
                     "by %.0f persons in all; the whole pool moves", int(over.sum()),
                     float((leaving - pool_size)[over].sum()))  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(
                pool_size > 0, np.minimum(leaving / np.where(pool_size > 0, pool_size, 1), 1.0), 0.0
            )
        removed = members * rate[:, regions]
        for index, part in enumerate(parts):
            state.counts[part] = np.maximum(state.counts[part] - removed[..., index], 0.0)


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------


def _town_table(context: Context, state: State) -> pd.DataFrame:
    """The towns with their assisted units as the scenario has them so far (list figures
    plus units added or moved by earlier steps)."""
    added = (
        pd.Series(state.assisted - context.tracts["assisted_units"].to_numpy())
        .groupby(context.tracts["town_geoid"].to_numpy())
        .sum()
    )
    towns = context.towns.copy()
    towns["assisted_units"] = towns["assisted_units"] + towns["town_geoid"].map(added).fillna(0)
    return towns


def tract_weights(context: Context, siting: Mapping[str, object]) -> pd.Series:
    """Weights of tracts for new or moved units: the race-neutral siting model's expected
    units (``method: model``), or capacity × low poverty × not R/ECAP
    (``method: low_poverty``, :func:`allocation.siting_weights`)."""
    method = siting.get("method", "low_poverty")
    if method == "model":
        weights = context.tracts["siting_model_weight"].astype(float)
        if weights.isna().all():
            raise ValueError("siting method 'model': the run has no siting-model counterfactual")
        return weights.fillna(0.0)
    if method != "low_poverty":
        raise ValueError(f"siting method: expected low_poverty or model, got {method!r}")
    return allocation.siting_weights(
        context.tracts,
        capacity=str(siting.get("capacity", "renters")),
        low_poverty=bool(siting.get("low_poverty", True)),
        avoid_recaps=bool(siting.get("avoid_recaps", True)),
    )


def _occupy(
    state: State,
    context: Context,
    units: np.ndarray,
    occupancy: Mapping[str, object],
    rng: np.random.Generator | None,
) -> None:
    """Fill new units (n,) with households from the regional pool; zero-sum also takes them
    out of their tracts."""
    pool = str(occupancy.get("pool", "low_income"))
    relocation = str(occupancy.get("relocation", "net_new"))
    if relocation not in ("net_new", "zero_sum"):
        raise ValueError(f"occupancy relocation: expected net_new or zero_sum, got {relocation!r}")
    members_race, members_bin = pool_members(state, context, pool)
    regions = context.region_codes
    by_race = compose(units, regional_mix(members_race, regions, units), rng)
    by_bin = compose(units, regional_mix(members_bin, regions, units), rng)
    if relocation == "zero_sum":
        _relocate_from_pool(state, context, by_race, by_bin, pool, drawn=rng is not None)
    _add(state, by_race, by_bin, context.persons_per_household)


def allocate_units(
    state: State,
    context: Context,
    params: Mapping[str, object],
    rng: np.random.Generator | None,
    *,
    rule: str,
) -> State:
    """``rule`` ``fair_share`` or ``gap_to_threshold``: units by town, sited in tracts,
    occupied. The town table is kept in ``state.allocations``."""
    towns = _town_table(context, state)
    if rule == "gap_to_threshold":
        table = allocation.gap_to_threshold(towns)
    elif rule == "fair_share":
        table = allocation.fair_share(
            towns,
            regional_targets(towns, float(params["units"]), str(params.get("split", "households"))),
            weights=params.get("weights", dict.fromkeys(allocation.FACTORS, 1.0)),
            exclude_at_threshold=bool(params.get("exclude_at_threshold", True)),
            exclude_recap_towns=bool(params.get("exclude_recap_towns", True)),
            max_poverty_rate=params.get("max_poverty_rate"),
            cap_share_of_households=params.get("cap_share_of_households"),
            cap_units=params.get("cap_units"),
        )
    else:
        raise ValueError(f"allocation rule: expected fair_share or gap_to_threshold, got {rule!r}")
    weights = tract_weights(context, params.get("siting", {}))
    units = allocation.site_in_tracts(
        table.set_index("town_geoid")["units"], context.tracts, weights
    ).to_numpy(dtype=np.float64)
    result = state.copy()
    _occupy(result, context, units, params.get("occupancy", {}), rng)
    result.assisted = result.assisted + units
    result.allocations.append(table)
    return result


def regional_targets(towns: pd.DataFrame, units: float, split: str) -> dict[str, float]:
    """A statewide number of units split among regions by ``households`` or by the
    region's total ``deficit`` to 10%, in whole units adding up to the statewide number."""
    if split == "households":
        basis = towns.groupby("region_geoid")["households"].sum()
    elif split == "deficit":
        gap = (0.10 * towns["housing_units"] - towns["assisted_units"]).clip(lower=0)
        basis = gap.groupby(towns["region_geoid"]).sum()
    else:
        raise ValueError(f"fair share split: expected households or deficit, got {split!r}")
    if basis.sum() <= 0:
        raise ValueError(f"fair share split by {split}: every region has 0")
    # Whole units per region, so the regions' totals add up to the statewide number.
    whole = allocation.whole_units((units * basis / basis.sum()).to_numpy())
    return dict(zip(basis.index, whole.astype(float), strict=True))


def rebalance(
    state: State,
    context: Context,
    params: Mapping[str, object],
    rng: np.random.Generator | None,
) -> State:
    """Move assisted units out of over-concentrated places, with their residents (each source
    tract's low-income mix), to sited tracts of the same region outside the sources.

    ``sources``: ``recap`` (today's R/ECAPs), ``concentrated`` (tracts whose units exceed
    ``concentration`` × households) or ``concentrated_towns`` (towns whose assisted share of
    housing, list units included, exceeds ``concentration``). A ``share`` of the sources'
    units moves, or ``units`` of them (spread over the sources by their units) when set."""
    tracts = context.tracts
    sources = str(params.get("sources", "recap"))
    threshold = float(params.get("concentration", 0.25))
    if sources == "recap":
        is_source = tracts["recap"].fillna(False).astype(bool).to_numpy()
    elif sources == "concentrated":
        is_source = (state.assisted > threshold * tracts["households"].to_numpy()) & (
            state.assisted > 0
        )
    elif sources == "concentrated_towns":
        towns = _town_table(context, state)
        share_of_housing = towns["assisted_units"] / towns["housing_units"].where(
            towns["housing_units"] > 0
        )
        over = set(towns.loc[share_of_housing > threshold, "town_geoid"])
        is_source = tracts["town_geoid"].isin(over).to_numpy()
    else:
        raise ValueError(
            f"rebalance sources: expected recap, concentrated or concentrated_towns, "
            f"got {sources!r}"
        )
    held = np.where(is_source, state.assisted, 0.0)
    units = params.get("units")
    if units is not None:
        if float(units) > held.sum():
            raise ValueError(f"rebalance: {units} units asked to move, the sources hold "
                             f"{held.sum():.0f}")  # fmt: skip
        leaving = (
            allocation.whole_units(float(units) * held / held.sum())
            if held.sum() > 0
            else np.zeros(len(held), dtype=np.int64)
        )
    else:
        leaving = allocation.whole_units(held * float(params.get("share", 0.25)))
    weights = tract_weights(context, params.get("siting", {})).where(~is_source, 0.0)
    arriving = np.zeros(len(tracts))
    for region in np.unique(context.region_codes):
        members = context.region_codes == region
        total = int(leaving[members].sum())
        if total == 0:
            continue
        w = weights[members].to_numpy()
        if w.sum() <= 0:
            raise ValueError(f"rebalance: region {tracts['region_geoid'][members].iloc[0]} "
                             "has no tract to receive units")  # fmt: skip
        arriving[members] = allocation.whole_units(total * w / w.sum())
    result = state.copy()
    members_race, members_bin = tract_pools(result.counts, "low_income")
    out_race = compose(leaving.astype(np.float64), tract_mix(members_race), rng)
    out_bin = compose(leaving.astype(np.float64), tract_mix(members_bin), rng)
    out_race, out_bin = _remove(result, out_race, out_bin, context.persons_per_household)
    # The movers of each region are spread over its receiving tracts by units received.
    persons = context.persons_per_household
    _add(
        result,
        spread(out_race, arriving, context.region_codes),
        spread(out_bin, arriving, context.region_codes),
        persons,
    )
    result.assisted = result.assisted - leaving + arriving
    return result


def spread(households: np.ndarray, receiving: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Households by part leaving tracts (k, n, parts), pooled per group of tracts (region
    or town codes, (n,)) and spread over the group's receiving tracts in proportion to
    ``receiving`` (k, n) or (n,). Groups with movers but nothing receiving raise."""
    k, n, parts = households.shape
    receiving = np.broadcast_to(np.asarray(receiving, dtype=np.float64), (k, n))
    count = groups.max() + 1
    pooled = np.zeros((k, count, parts))
    np.add.at(pooled, (slice(None), groups), households)
    room = np.zeros((k, count))
    np.add.at(room, (slice(None), groups), receiving)
    if ((pooled.sum(axis=-1) > 1e-9) & (room <= 0)).any():
        raise ValueError("scenario: households leave an area with no tract to receive them")
    room = room[:, groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(room > 0, receiving / np.where(room > 0, room, 1), 0.0)
    return pooled[:, groups] * fraction[..., None]


#: Voucher take-up without and with mobility counseling: about 15% of families with a
#: voucher moved to high-opportunity areas in the control arm of Creating Moves to
#: Opportunity, against 53% with counseling and landlord outreach (Bergman, Chetty,
#: DeLuca, Hendren, Katz and Palmer 2024, "Creating Moves to Opportunity", *American
#: Economic Review* 114(5): 1281-1337).
MOBILITY_TAKE_UP = {"without_counseling": 0.15, "with_counseling": 0.53}


def voucher_mobility(
    state: State,
    context: Context,
    params: Mapping[str, object],
    rng: np.random.Generator | None,
) -> State:
    """Voucher households in tracts with poverty of at least ``origin_min_poverty`` move
    with probability ``take_up`` to tracts below ``destination_max_poverty`` with room:
    ``capacity_share`` of their renter households less the vouchers already there. Moves
    stay in the household's ``jurisdiction`` (``town`` or ``region``); where movers exceed
    the room, each destination fills up and the rest stay. Movers carry their origin
    tract's low-income mix."""
    tracts = context.tracts
    poverty = tracts["poverty_rate"].astype(float).to_numpy()
    origin = np.nan_to_num(poverty, nan=0.0) >= float(params.get("origin_min_poverty", 0.20))
    destination = np.nan_to_num(poverty, nan=1.0) < float(
        params.get("destination_max_poverty", 0.10)
    )
    take_up = float(params["take_up"])
    if not 0 <= take_up <= 1:
        raise ValueError(f"voucher mobility: take_up must be in [0, 1], got {take_up}")
    jurisdiction = str(params.get("jurisdiction", "town"))
    if jurisdiction == "town":
        groups = context.town_codes
    elif jurisdiction == "region":
        groups = context.region_codes
    else:
        raise ValueError(
            f"voucher mobility: jurisdiction must be town or region, got {jurisdiction!r}"
        )
    holders = np.where(origin, state.vouchers, 0.0)
    if rng is None:
        movers = holders * take_up
    else:
        # Inverse CDF from common uniforms: a higher take-up, a superset of would-be movers.
        uniforms = rng.random(holders.shape)
        movers = stats.binom.ppf(uniforms, np.rint(holders).astype(np.int64), take_up)
        movers = np.nan_to_num(movers, nan=0.0)
    renters = tracts["renters"].astype(float).fillna(0.0).to_numpy()
    room = np.where(
        destination,
        np.maximum(float(params.get("capacity_share", 0.10)) * renters - state.vouchers, 0.0),
        0.0,
    )
    count = groups.max() + 1
    k = state.draws
    wanting = np.zeros((k, count))
    np.add.at(wanting, (slice(None), groups), movers)
    space = np.zeros((k, count))
    np.add.at(space, (slice(None), groups), room)
    with np.errstate(divide="ignore", invalid="ignore"):
        placed_share = np.where(
            wanting > 0, np.minimum(1.0, space / np.where(wanting > 0, wanting, 1)), 0.0
        )
    moving = movers * placed_share[:, groups]
    if rng is not None:
        moving = np.rint(moving)  # whole households, unbiased (floor would move too few)
    result = state.copy()
    members_race, members_bin = tract_pools(result.counts, "low_income")
    out_race = compose(moving, tract_mix(members_race), None if rng is None else rng)
    out_bin = compose(moving, tract_mix(members_bin), None if rng is None else rng)
    persons = context.persons_per_household
    out_race, out_bin = _remove(result, out_race, out_bin, persons)
    _add(result, spread(out_race, room, groups), spread(out_bin, room, groups), persons)
    arriving = spread(moving[..., None], room, groups)[..., 0]
    result.vouchers = result.vouchers - moving + arriving
    return result


def income_mixing(
    state: State,
    context: Context,
    params: Mapping[str, object],
    rng: np.random.Generator | None,
) -> State:
    """Add ``households`` non-poor households (the region's non-poor mix, at 2.00 × poverty
    or more) to tracts with poverty of at least ``min_poverty_rate``, in proportion to their
    households. Tracts where the added households exceed ``displacement_threshold`` of
    their homes are flagged ``displacement_risk``."""
    tracts = context.tracts
    poverty = np.nan_to_num(tracts["poverty_rate"].astype(float).to_numpy(), nan=0.0)
    target = poverty >= float(params.get("min_poverty_rate", 0.40))
    homes = tracts["households"].astype(float).fillna(0.0).to_numpy()
    weights = np.where(target, homes, 0.0)
    total = float(params["households"])
    if weights.sum() <= 0:
        raise ValueError("income mixing: no tract meets min_poverty_rate")
    added = allocation.whole_units(total * weights / weights.sum()).astype(np.float64)
    result = state.copy()
    members_race, members_bin = tract_pools(result.counts, "non_poor")
    by_race = compose(added, regional_mix(members_race, context.region_codes, added), rng)
    by_bin = compose(added, regional_mix(members_bin, context.region_codes, added), rng)
    _add(result, by_race, by_bin, context.persons_per_household)
    with np.errstate(divide="ignore", invalid="ignore"):
        added_share = np.where(homes > 0, added / np.where(homes > 0, homes, 1), np.inf)
    threshold = float(params.get("displacement_threshold", 0.10))
    result.flags["displacement_risk"] = (added > 0) & (added_share > threshold)
    return result


#: Step name -> function of (state, context, parameters, random generator or None).
STEPS = {
    "fair_share": partial(allocate_units, rule="fair_share"),
    "gap_to_threshold": partial(allocate_units, rule="gap_to_threshold"),
    "rebalance": rebalance,
    "voucher_mobility": voucher_mobility,
    "income_mixing": income_mixing,
}


def step_seed(seed: Sequence[int], position: int) -> list[int]:
    """The random stream of a scenario's step at ``position``: the same for every scenario,
    so that their draws are common random numbers."""
    return [*seed, 1 + position]


def apply_scenario(
    state: State,
    context: Context,
    steps: Sequence[Mapping[str, object]],
    *,
    seed: Sequence[int] | None,
) -> State:
    """Apply ``steps`` in order (each a mapping with ``step`` and its parameters). Without
    ``seed``, expected moves (the point run); with it, each step's random parts are drawn
    from :func:`step_seed`."""
    for position, spec in enumerate(steps):
        kind = str(spec["step"])
        if kind not in STEPS:
            raise ValueError(
                f"scenario step {position + 1}: unknown step {kind!r}; known: {sorted(STEPS)}"
            )
        rng = None if seed is None else np.random.default_rng(step_seed(seed, position))
        params = {key: value for key, value in spec.items() if key != "step"}
        state = STEPS[kind](state, context, params, rng)
    return state
