"""Sampling inference for segregation indices, vectorised over simulations.

Both functions follow Allen, Burgess, Davidson & Windmeijer (2015), "More reliable
inference for the dissimilarity index of segregation", *Econometrics Journal* 18(1): 40–66,
as PySAL ``segregation`` 2.5.4 implements them, but draw every simulation at once (one
multinomial call for all draws, one batched index call) instead of looping in Python:

- :func:`bias_corrected_dissimilarity` is PySAL ``BiasCorrectedDissim``;
- :func:`random_allocation_test` is PySAL ``SingleValueTest(..., null_approach="systematic")``
  with a one-sided p-value.

Counts follow :mod:`housing_segregation.indices` (shape ``(..., n_units)``, results shape
``(...)``, a ``float`` for 1-d counts, NaN in a batch where undefined) and must be whole
numbers: they are numbers of people drawn multinomially. Randomness comes only from ``rng``
(a ``numpy.random.Generator`` or a seed), so a seed reproduces a result exactly.

Simulations are made in blocks of about 65,000 counts (at least one draw), each from its own
child generator (``Generator.spawn``), and the blocks may run on ``threads`` threads (NumPy's
multinomial sampler releases the GIL). Block sizes depend only on the shapes and the number
of draws, and the blocks' results are combined in block order, so a result depends on the
seed and the input alone, never on the number of threads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .indices import Array, Index, _finish, _group_in_total, dissimilarity

__all__ = ["RandomAllocationTest", "bias_corrected_dissimilarity", "random_allocation_test"]

#: Counts simulated per block (512 KB of int64 per group): enough to keep numpy busy
#: between Python steps, few enough to stay in cache and to share out among threads.
_BLOCK_COUNTS = 2**16

#: Relative tolerance within which a simulated value counts as a tie with the observed one
#: (the same allocation computed in another order may differ in the last bits).
_TIE = 1e-12


def _whole_counts(group: ArrayLike, total: ArrayLike) -> tuple[Array, Array, Array]:
    g, t, rest = _group_in_total(group, total)
    for name, values in (("group", g), ("total", t)):
        if (values != np.round(values)).any():
            raise ValueError(f"{name}: counts must be whole numbers (people are drawn)")
    return g, t, rest


def _generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng: expected a numpy.random.Generator or an integer seed, got {rng!r}")


def _positive_integer(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    return int(value)


def _in_blocks(
    simulate: Callable[[np.random.Generator, int], tuple[Array, ...]],
    generator: np.random.Generator,
    draws: int,
    counts_per_draw: int,
    threads: int,
) -> Iterator[tuple[Array, ...]]:
    """``simulate(block_generator, n_draws)`` over blocks of the draws, each block with its
    own child generator, on up to ``threads`` threads; results in block order."""
    size = max(1, _BLOCK_COUNTS // max(1, counts_per_draw))
    sizes = [min(size, draws - start) for start in range(0, draws, size)]
    children = generator.spawn(len(sizes))
    if threads == 1 or len(sizes) == 1:
        yield from map(simulate, children, sizes)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(simulate, children, sizes)


def _multinomial(rng: np.random.Generator, people: Array, shares: Array, draws: int) -> np.ndarray:
    """``draws`` allocations of ``people`` (shape batch) over units with probabilities
    ``shares`` (batch + (n_units,)): shape (draws, *batch, n_units). A batch row with no
    people (or no shares) gets zeros."""
    empty = people <= 0
    shares = np.where(empty[..., None], 1.0 / shares.shape[-1], shares)
    return rng.multinomial(people.astype(np.int64), shares, size=(draws, *people.shape))


# --------------------------------------------------------------------------------------------
# Bias-corrected dissimilarity
# --------------------------------------------------------------------------------------------


def bias_corrected_dissimilarity(
    group: ArrayLike, total: ArrayLike, *, draws: int = 500, rng, threads: int = 1
) -> Index:
    """Dissimilarity corrected for small-unit bias, D_bc = 2 D − mean(D*), PySAL
    ``BiasCorrectedDissim`` (Allen et al. 2015).

    D is the observed dissimilarity of the group against the rest of ``total``. Each of
    ``draws`` simulations re-allocates the G group members multinomially over units with the
    group's own observed shares g_i/G, and the O = T − G others with theirs o_i/O, and takes
    D* of the simulated counts; the mean of D* estimates E[D] under sampling, whose excess
    over D is the bias subtracted. The Monte Carlo standard error of D_bc is sd(D*)/√draws.

    Here each block of draws is one multinomial call per group and one batched
    :func:`~housing_segregation.indices.dissimilarity` call, rather than PySAL's loop over
    DataFrames; the estimator is the same, the random numbers are not (PySAL uses the legacy
    global ``np.random``). In a batch, rows with the same others (several groups each
    against white residents) share the others' simulated allocations: each row's estimate
    is unchanged in distribution, and the shared sampling is the costliest part.
    """
    draws = _positive_integer(draws, "draws")
    threads = _positive_integer(threads, "threads")
    generator = _generator(rng)
    g, _, rest = _whole_counts(group, total)
    members, others = g.sum(axis=-1), rest.sum(axis=-1)
    # As a batch (NaN where undefined), so that _finish names this function's arguments.
    n_units = g.shape[-1]
    observed = dissimilarity(g.reshape(-1, n_units), rest.reshape(-1, n_units))
    observed = observed.reshape(members.shape)
    group_shares = g / np.where(members > 0, members, 1.0)[..., None]
    other_shares = rest / np.where(others > 0, others, 1.0)[..., None]

    # Comparisons with the same others (e.g. several groups against white residents) share
    # their draws: the same distribution, sampled once.
    flat_others = others.reshape(-1)
    flat_shares = other_shares.reshape(-1, n_units)
    distinct, which = np.unique(
        np.column_stack([flat_others, flat_shares]), axis=0, return_inverse=True
    )

    def simulate(block_generator: np.random.Generator, size: int) -> tuple[Array]:
        simulated_group = _multinomial(block_generator, members, group_shares, size)
        simulated_other = _multinomial(block_generator, distinct[:, 0], distinct[:, 1:], size)
        simulated_other = simulated_other[:, which.reshape(-1)].reshape(simulated_group.shape)
        simulated = np.asarray(dissimilarity(simulated_group, simulated_other))
        return (np.where(np.isnan(simulated), 0.0, simulated).sum(axis=0),)

    simulated_sum = np.zeros(members.shape)
    for (block_sum,) in _in_blocks(simulate, generator, draws, g.size, threads):
        simulated_sum = simulated_sum + block_sum
    value = 2 * observed - simulated_sum / draws
    return _finish(
        value,
        (members <= 0, "group: the group has no members in any unit"),
        (others <= 0, "total: nobody outside the group in any unit (total equals group)"),
    )


# --------------------------------------------------------------------------------------------
# Random-allocation (systematic) test
# --------------------------------------------------------------------------------------------


class RandomAllocationTest(NamedTuple):
    """Observed index, one-sided p-value and mean of the index under random allocation."""

    statistic: Index
    p_value: Index
    null_mean: Index


#: An index of (group, other), (group, total) or (group, other, total), as in indices.py.
IndexFunction = Callable[..., Index]


def _counts_taken(index: IndexFunction) -> tuple[str, ...]:
    """Which of ``other`` and ``total`` the index takes, from its parameter names."""
    if not callable(index):
        raise ValueError(f"index: expected a function of counts, got {index!r}")
    try:
        parameters = inspect.signature(index).parameters
    except (TypeError, ValueError):
        parameters = {}
    taken = tuple(name for name in ("other", "total") if name in parameters)
    if not taken:
        raise ValueError(
            "index: expected a function whose second argument is named `other` or `total` "
            "(e.g. indices.dissimilarity(group, other) or indices.gini(group, total)); wrap "
            "any other function, e.g. functools.partial or a def with those names"
        )
    return taken


def random_allocation_test(
    group: ArrayLike,
    total: ArrayLike,
    *,
    index: IndexFunction = dissimilarity,
    permutations: int = 999,
    rng,
    threads: int = 1,
) -> RandomAllocationTest:
    """Test segregation against random allocation of people to units (one-sided).

    H0 (PySAL's ``null_approach="systematic"``; Allen et al. 2015): people are allocated to
    units at random in proportion to unit size, so the G group members are drawn
    multinomially over units with probabilities t_i/T, and the O = T − G others
    independently with the same probabilities; the simulated unit totals are the sums of
    the two and vary around the observed ones. Under H0 any segregation is sampling noise.

    ``index`` is any index of :mod:`housing_segregation.indices` (or a function with the
    same argument names): it gets the group counts and, by name, ``other`` and/or ``total``,
    as its signature asks (dissimilarity(group, other), gini(group, total),
    interaction(group, other, total)). Geometric indices work through a partial that fixes
    the geometry, e.g. ``partial(geometric.delta, area=area)``.

    The test is one-sided for indices that rise with segregation (dissimilarity, Gini,
    entropy, Atkinson, isolation, Δ, …); for those that fall with it (interaction), test
    1 − index or read the p-value as that of the other tail.

    Returns (statistic, p_value, null_mean): the observed index, the one-sided p-value
    (1 + #{null ≥ observed}) / (1 + permutations) (values within 1e-12 relative count as
    ties) and the mean of the null values. Simulations where the index is undefined (NaN)
    count neither as ≥ nor in the mean; PySAL drops them likewise.

    Each block of allocations is drawn at once and the index called once on the
    (block, …, n_units) batch. PySAL's ``SingleValueTest`` reports the two-sided
    p-value by default, and with ``two_tailed=False`` #{null > observed}/permutations.
    """
    permutations = _positive_integer(permutations, "permutations")
    threads = _positive_integer(threads, "threads")
    generator = _generator(rng)
    taken = _counts_taken(index)
    g, t, rest = _whole_counts(group, total)

    def evaluate(group_counts, other_counts):
        arguments = {"other": other_counts}
        if "total" in taken:
            arguments["total"] = group_counts + other_counts
        return np.asarray(index(group_counts, **{name: arguments[name] for name in taken}))

    observed = evaluate(g, rest)  # raises for one set of counts where undefined
    members, others, population = g.sum(axis=-1), rest.sum(axis=-1), t.sum(axis=-1)
    unit_shares = t / np.where(population > 0, population, 1.0)[..., None]
    tie = _TIE * np.maximum(1.0, np.abs(observed))

    def simulate(block_generator: np.random.Generator, size: int) -> tuple[Array, Array, Array]:
        simulated_group = _multinomial(block_generator, members, unit_shares, size)
        simulated_other = _multinomial(block_generator, others, unit_shares, size)
        with np.errstate(invalid="ignore", divide="ignore"):
            null = evaluate(simulated_group, simulated_other)
        defined = np.isfinite(null)
        return (
            (defined & (null >= observed - tie)).sum(axis=0),
            np.where(defined, null, 0.0).sum(axis=0),
            defined.sum(axis=0),
        )

    exceed = np.zeros(members.shape)
    null_sum, null_defined = np.zeros(members.shape), np.zeros(members.shape)
    for block in _in_blocks(simulate, generator, permutations, g.size, threads):
        exceed, null_sum, null_defined = (
            total + part
            for total, part in zip((exceed, null_sum, null_defined), block, strict=True)
        )
    p_value = (1 + exceed) / (1 + permutations)
    null_mean = null_sum / np.where(null_defined > 0, null_defined, 1.0)
    undefined = ~np.isfinite(observed)
    return RandomAllocationTest(
        statistic=_finish(observed),
        p_value=_finish(np.where(undefined, np.nan, p_value)),
        null_mean=_finish(np.where(undefined | (null_defined == 0), np.nan, null_mean)),
    )
