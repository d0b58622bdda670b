"""Aspatial segregation indices as pure, vectorised functions over per-unit counts.

Conventions shared by every function:

- **Counts.** Each count argument is an array of shape ``(..., n_units)``: the last axis runs
  over units (e.g. tracts), leading axes over anything else (Monte Carlo draws, scenarios, …).
  Leading axes broadcast against each other (a ``total`` of shape ``(n_units,)`` goes with
  ``group`` draws of shape ``(n_draws, n_units)``); the units axis must agree. Multigroup
  functions take one array of shape ``(..., n_units, n_groups)`` whose groups partition the
  population (a unit's total is the sum over its groups).
- **Result.** Shape ``(...)``: a Python ``float`` for a single set of counts (1-d arguments, or
  a 2-d table for the multigroup functions), an ndarray otherwise.
- **Invalid input** raises ``ValueError`` naming the argument: negative, missing (NaN) or
  infinite counts, units axes of different lengths, leading axes that do not broadcast, no
  units, a group larger than its unit's total.
- **Undefined values.** When an index is undefined for the counts given (the group has no
  members; nobody lives outside the group; only one group of a partition has members), a single
  set of counts raises ``ValueError`` saying why, but in a batch that draw's result is NaN and
  the other draws are computed as usual, without warnings: a Monte Carlo draw in which a small
  group vanishes must not abort the others. Drop or count the NaNs downstream.
- **Empty units.** Units with total 0 contribute nothing: they get weight 0 and never produce
  0/0, so adding or removing them leaves every index unchanged.
- **Large batches** are evaluated a block of draws at a time (:func:`_in_blocks`), so that the
  temporaries stay in the processor's cache and memory grows with the block, not the batch.
  Each draw is computed on its own, so the blocking changes no value.

Formulas follow Massey & Denton (1988) and, for the multigroup and information-theoretic
indices, Reardon & Firebaugh (2002), Theil (1971) and Mora & Ruiz-Castillo (2011); each
single-group and multigroup index equals PySAL ``segregation`` 2.5.4 to 1e-9 on the same counts
(tests/test_indices.py). docs/methods.md gives the formulas and the PySAL details reproduced.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import NamedTuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MutualInformationDecomposition",
    "atkinson",
    "correlation_ratio",
    "dissimilarity",
    "entropy",
    "gini",
    "interaction",
    "isolation",
    "multigroup_dissimilarity",
    "multigroup_entropy",
    "multigroup_indices",
    "mutual_information",
    "mutual_information_decomposition",
    "single_group_indices",
]

#: An index value: a float for one set of counts, an array of shape (...) for a batch.
Index = float | NDArray[np.float64]

Array = NDArray[np.float64]

_NO_MEMBERS = "the group has no members in any unit"

#: Counts per block of a large batch: 2**15 float64 values are 256 KiB, so an index's
#: handful of temporaries fits in a 1 MiB L2 cache.
BLOCK_CELLS = 2**15
_PER_UNIT = "expected one count per unit (an array of shape (..., n_units))"


# --------------------------------------------------------------------------------------------
# Input checks and shared arithmetic
# --------------------------------------------------------------------------------------------


def _counts(values: ArrayLike, name: str, *, min_ndim: int = 1, expected: str = _PER_UNIT) -> Array:
    """Checked counts in double precision, or in single precision if given so (the
    measurement stage's Monte Carlo draws; every index then computes in single precision)."""
    try:
        array = np.asarray(values)
        if array.dtype != np.float32:
            array = array.astype(np.float64, copy=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: not an array of counts ({error})") from None
    if array.ndim < min_ndim:
        raise ValueError(f"{name}: {expected}")
    # Two reductions without temporaries; NaN fails `lowest >= 0`, so the common case
    # costs no elementwise pass.
    if array.size and not (array.min() >= 0 and array.max() < np.inf):
        if not np.isfinite(array).all():
            raise ValueError(f"{name}: contains missing or infinite counts")
        raise ValueError(f"{name}: contains negative counts")
    return array


def _exceeds(part: Array, total: Array) -> bool:
    """Whether a part exceeds its total beyond float rounding: simulated totals are sums
    of simulated parts, each kept in single precision by the measurement stage, so a part
    may top its total by a few single-precision ulps (about 1e-7 relative)."""
    return bool((part > total * (1 + 1e-6) + 1e-9).any())


def _sum_exceeds(first: Array, second: Array, total: Array) -> bool:
    """Whether first + second exceeds total (as :func:`_exceeds`), checked a block of the
    leading axis at a time for a large batch, so no temporary is the whole batch's size."""
    first, second, total = np.broadcast_arrays(first, second, total)
    if first.ndim < 2 or first.size <= BLOCK_CELLS * 2**6:
        return _exceeds(first + second, total)
    return any(_sum_exceeds(*block) for block in zip(first, second, total, strict=True))


def _aligned(**arrays: ArrayLike) -> dict[str, Array]:
    """Checked counts, broadcast to one shape (..., n_units)."""
    checked = {name: _counts(values, name) for name, values in arrays.items()}
    lengths = {name: values.shape[-1] for name, values in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"counts have different numbers of units: {lengths}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("no units")
    shapes = {name: values.shape for name, values in checked.items()}
    try:
        shape = np.broadcast_shapes(*shapes.values())
    except ValueError:
        raise ValueError(
            f"counts have batch shapes that do not broadcast (leading axes): {shapes}"
        ) from None
    return {name: np.broadcast_to(values, shape) for name, values in checked.items()}


def _group_in_total(group: ArrayLike, total: ArrayLike) -> tuple[Array, Array, Array]:
    """Group counts, unit totals and the rest of each total (total − group)."""
    c = _aligned(group=group, total=total)
    g, t = c["group"], c["total"]
    if _exceeds(g, t):
        raise ValueError("group: exceeds total in some unit")
    return g, t, np.maximum(t - g, 0.0)


def _table(counts: ArrayLike) -> Array:
    n = _counts(
        counts,
        "counts",
        min_ndim=2,
        expected="expected one count per unit and group (an array of shape "
        "(..., n_units, n_groups))",
    )
    if n.shape[-2] == 0:
        raise ValueError("counts: no units")
    if n.shape[-1] == 0:
        raise ValueError("counts: no groups")
    return n


def _ratio(numerator: ArrayLike, denominator: ArrayLike) -> Array:
    """numerator / denominator, and 0 where the denominator is 0 (an empty unit or draw)."""
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    out = np.zeros(
        np.broadcast_shapes(numerator.shape, denominator.shape),
        dtype=np.result_type(numerator, denominator, np.float32),
    )
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def _gather(values: Array, order: NDArray[np.intp]) -> Array:
    """``values`` reordered along the last axis by ``order`` (same shape): take_along_axis
    through one flat index, which is several times faster."""
    values = np.broadcast_to(values, order.shape)
    n = order.shape[-1]
    rows = np.arange(order.size // n, dtype=order.dtype).reshape((*order.shape[:-1], 1))
    return np.ravel(values)[order + rows * n]


def _xlogx(x: Array) -> Array:
    """x · ln x with 0 · ln 0 = 0."""
    return x * np.log(np.where(x > 0, x, 1.0))


def _finish(value: ArrayLike, *undefined: tuple[ArrayLike, str]) -> Index:
    """A float for one set of counts (raising where undefined), else an array with NaN where
    undefined. ``undefined`` holds (mask over the batch, message) pairs, checked in order."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        for mask, message in undefined:
            if bool(mask):
                raise ValueError(message)
        return float(value)
    for mask, _ in undefined:
        value = np.where(mask, np.nan, value)
    return value


def _single_group_undefined(members: Array, rest: Array) -> tuple[tuple[Array, str], ...]:
    return (
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (rest <= 0, "total: nobody outside the group in any unit (total equals group)"),
    )


def _multigroup_undefined(population: Array, diversity: Array) -> tuple[tuple[Array, str], ...]:
    return (
        (population <= 0, "counts: nobody in any unit"),
        (diversity <= 0, "counts: only one group has members"),
    )


Function = TypeVar("Function", bound=Callable)


def _in_blocks(*count_names: str, unit_axes: int = 1) -> Callable[[Function], Function]:
    """Evaluate an index on a large batch a block of draws at a time.

    ``count_names`` name the count arguments; each has ``unit_axes`` trailing axes (units, or
    units and groups) after the batch axes. When they are arrays whose trailing axes agree and
    whose batch axes broadcast, the batch is flattened and the index called on blocks of about
    :data:`BLOCK_CELLS` counts, then the results (arrays, or a NamedTuple of arrays) are joined
    and given the batch shape. Anything else, including every input the index must reject,
    goes to the index unchanged, so its checks and messages are the same either way. Count
    arguments given as None are left out.
    """

    def decorate(index: Function) -> Function:
        signature = inspect.signature(index)

        @functools.wraps(index)
        def blocked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            names = [name for name in count_names if bound.arguments.get(name) is not None]
            counts = [bound.arguments[name] for name in names]
            if not all(isinstance(c, np.ndarray) and c.ndim > unit_axes for c in counts):
                return index(*args, **kwargs)
            cells = {c.shape[-unit_axes:] for c in counts}
            try:
                batch = np.broadcast_shapes(*(c.shape[:-unit_axes] for c in counts))
            except ValueError:
                return index(*args, **kwargs)
            draws = int(np.prod(batch))
            per_draw = int(np.prod(next(iter(cells))))
            if len(cells) > 1 or per_draw == 0 or draws * per_draw <= BLOCK_CELLS:
                return index(*args, **kwargs)
            size = max(1, BLOCK_CELLS // per_draw)
            expanded = [np.broadcast_to(c, batch + c.shape[-unit_axes:]) for c in counts]
            if size < batch[-1]:
                # Blocks within the last batch axis: views, even of counts broadcast along
                # the others (flattening those would copy the whole batch).
                rows = [(lead, slice(start, start + size)) for lead in np.ndindex(*batch[:-1])
                        for start in range(0, batch[-1], size)]  # fmt: skip
            else:
                expanded = [values.reshape((draws, *values.shape[len(batch) :]))
                            for values in expanded]  # fmt: skip
                rows = [((), slice(start, start + size)) for start in range(0, draws, size)]
            parts = []
            for lead, block in rows:
                for name, values in zip(names, expanded, strict=True):
                    bound.arguments[name] = values[lead][block]
                parts.append(index(*bound.args, **bound.kwargs))

            def joined(values) -> Array:
                return np.concatenate(values).reshape(batch)

            if isinstance(parts[0], dict):
                return {key: joined([part[key] for part in parts]) for key in parts[0]}
            if isinstance(parts[0], tuple):
                return type(parts[0])(*map(joined, zip(*parts, strict=True)))
            return joined(parts)

        return blocked  # type: ignore[return-value]

    return decorate


# --------------------------------------------------------------------------------------------
# Single-group index values from checked counts. Each public function below checks its
# arguments and calls one of these; single_group_indices checks once and calls them all.
# g: group counts; r: the rest of the pair or total (≥ 0); t: the unit totals g + r (or
# any universe containing the group); G, R, T: their sums over units.
# --------------------------------------------------------------------------------------------


def _dissimilarity_value(g: Array, o: Array, members: Array, others: Array) -> Array:
    shares = _ratio(g, members[..., None]) - _ratio(o, others[..., None])
    return 0.5 * np.abs(shares).sum(axis=-1)


def _exposure_value(g: Array, share: Array, members: Array) -> Array:
    """Σ (g_i/G) s_i: the average group member's unit share ``share`` of some group."""
    return _ratio((g * share).sum(axis=-1), members)


def _gini_value(share: Array, t: Array, members: Array, rest: Array) -> Array:
    order = np.argsort(share, axis=-1)
    sorted_share = _gather(share, order)
    below = np.cumsum(_gather(t, order), axis=-1)[..., :-1]
    above = (members + rest)[..., None] - below
    half_pair_sum = (np.diff(sorted_share, axis=-1) * below * above).sum(axis=-1)
    # 2 T² P (1 − P) = 2 G (T − G): the 2 cancels the half above.
    return _ratio(half_pair_sum, members * rest)


def _entropy_value(g: Array, r: Array, t: Array, members: Array, rest: Array) -> Array:
    population = members + rest
    overall = -(_xlogx(_ratio(members, population)) + _xlogx(_ratio(rest, population)))
    unit = -(_xlogx(_ratio(g, t)) + _xlogx(_ratio(r, t)))
    return _ratio((t * (overall[..., None] - unit)).sum(axis=-1), overall * population)


def _atkinson_terms(g: Array, r: Array, shapes: Iterable[float]) -> dict[float, Array]:
    """(1 − p_i)^(1−b) p_i^b t_i = r_i^(1−b) g_i^b per shape b: one power, not two (a root
    for b = ½), and for b next to 1 − b none (r^b g^(1−b) = g r / (r^(1−b) g^b))."""
    terms: dict[float, Array] = {}
    for b in shapes:
        mirror = next((k for k in terms if math.isclose(k, 1 - b)), None)
        if b == 0.5:
            terms[b] = np.sqrt(r * g)
        elif mirror is not None:
            terms[b] = _ratio(g * r, terms[mirror])
        else:
            terms[b] = r * _ratio(g, r) ** b
    return terms


def _atkinson_value(terms: Array, members: Array, rest: Array, b: float) -> Array:
    mean = _ratio(terms.sum(axis=-1), members)  # P T = G
    return 1 - _ratio(members, rest) * mean ** (1 / (1 - b))  # P/(1 − P) = G/(T − G)


def _correlation_ratio_value(isolation: Array, members: Array, outside: Array) -> Array:
    population = members + outside
    return _ratio(isolation - _ratio(members, population), _ratio(outside, population))


def _atkinson_shape(b: object) -> float:
    if isinstance(b, bool) or not isinstance(b, Real) or not 0 < b < 1:
        raise ValueError(f"b: must be a number strictly between 0 and 1, got {b!r}")
    return float(b)


# --------------------------------------------------------------------------------------------
# Pairwise and exposure indices
# --------------------------------------------------------------------------------------------


@_in_blocks("group", "other")
def dissimilarity(group: ArrayLike, other: ArrayLike) -> Index:
    """Pairwise index of dissimilarity D = ½ Σ |g_i/G − o_i/O|.

    The share of either group that would have to move for both to be spread alike. Equals
    PySAL ``Dissim`` with total = group + other.
    """
    c = _aligned(group=group, other=other)
    g, o = c["group"], c["other"]
    members, others = g.sum(axis=-1), o.sum(axis=-1)
    return _finish(
        _dissimilarity_value(g, o, members, others),
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (others <= 0, f"other: {_NO_MEMBERS}"),
    )


@_in_blocks("group", "total")
def isolation(group: ArrayLike, total: ArrayLike) -> Index:
    """Isolation xPx = Σ (g_i/G)(g_i/t_i): the group share in the average member's unit."""
    g, t, _ = _group_in_total(group, total)
    members = g.sum(axis=-1)
    value = _exposure_value(g, _ratio(g, t), members)
    return _finish(value, (members <= 0, f"group: {_NO_MEMBERS}"))


@_in_blocks("group", "other", "total")
def interaction(group: ArrayLike, other: ArrayLike, total: ArrayLike) -> Index:
    """Interaction xPy = Σ (g_i/G)(o_i/t_i): the other group's share in the average
    group member's unit, using the unit's whole population as the denominator."""
    c = _aligned(group=group, other=other, total=total)
    g, o, t = c["group"], c["other"], c["total"]
    if _exceeds(g + o, t):
        raise ValueError("group and other: together exceed total in some unit")
    members = g.sum(axis=-1)
    value = _exposure_value(g, _ratio(o, t), members)
    return _finish(value, (members <= 0, f"group: {_NO_MEMBERS}"))


# --------------------------------------------------------------------------------------------
# Single-group evenness indices: `group` against the rest of `total`
# --------------------------------------------------------------------------------------------


@_in_blocks("group", "total")
def gini(group: ArrayLike, total: ArrayLike) -> Index:
    """Gini segregation index G = Σ_i Σ_j t_i t_j |p_i − p_j| / (2 T² P (1 − P)), PySAL ``Gini``.

    p_i = g_i/t_i, P = G/T. For a pairwise index pass total = group + reference.

    PySAL loops over all pairs (O(n²)). Here units are sorted by p, and the double sum is
    Σ_m (p_(m+1) − p_(m)) · W_m · (T − W_m) over the gaps between consecutive sorted shares,
    with W_m the population of the m units below the gap (every pair straddles exactly the
    gaps between its two shares): O(n log n), and every term is ≥ 0, so nothing cancels.
    Units with equal shares may be sorted in any order: the gaps between them are 0, and
    the W_m at the other gaps sum the same units (in an order that moves only the last bit).
    """
    g, t, rest = _group_in_total(group, total)
    members, outside = g.sum(axis=-1), rest.sum(axis=-1)
    value = _gini_value(_ratio(g, t), t, members, outside)
    return _finish(value, *_single_group_undefined(members, outside))


@_in_blocks("group", "total")
def entropy(group: ArrayLike, total: ArrayLike) -> Index:
    """Theil's entropy index H = Σ t_i (E − E_i) / (E T), PySAL ``Entropy``.

    E = −P ln P − (1 − P) ln(1 − P) is the entropy of the whole area, E_i that of unit i
    (p_i = g_i/t_i), with 0 · ln 0 = 0: a unit with only group members (or none) has E_i = 0
    and still counts with weight t_i, as in PySAL since pysal/segregation#178 (2021). Before
    that fix NaN dropped such units, giving 0.0946 instead of 0.0963 on Sacramento
    (docs/methods.md).
    """
    g, t, rest = _group_in_total(group, total)
    members, outside = g.sum(axis=-1), rest.sum(axis=-1)
    value = _entropy_value(g, rest, t, members, outside)
    return _finish(value, *_single_group_undefined(members, outside))


@_in_blocks("group", "total")
def atkinson(group: ArrayLike, total: ArrayLike, b: float = 0.5) -> Index:
    """Atkinson index A = 1 − P/(1 − P) · |Σ (1 − p_i)^(1−b) p_i^b t_i / (P T)|^(1/(1−b)).

    PySAL ``Atkinson`` (its function ``_atkinson``; the class ignores ``b`` and always uses
    0.5). ``b`` in (0, 1) weights the under-represented (b < 0.5) or over-represented
    (b > 0.5) end of the distribution of group shares p_i = g_i/t_i.
    """
    b = _atkinson_shape(b)
    g, _, rest = _group_in_total(group, total)
    members, outside = g.sum(axis=-1), rest.sum(axis=-1)
    value = _atkinson_value(_atkinson_terms(g, rest, [b])[b], members, outside, b)
    return _finish(value, *_single_group_undefined(members, outside))


@_in_blocks("group", "total")
def correlation_ratio(group: ArrayLike, total: ArrayLike) -> Index:
    """Correlation ratio η² = (xPx − P)/(1 − P), PySAL ``CorrelationR``: isolation adjusted
    for the group's overall share P = G/T."""
    g, t, rest = _group_in_total(group, total)
    members, outside = g.sum(axis=-1), rest.sum(axis=-1)
    own_share = _exposure_value(g, _ratio(g, t), members)
    value = _correlation_ratio_value(own_share, members, outside)
    return _finish(value, *_single_group_undefined(members, outside))


# --------------------------------------------------------------------------------------------
# All single-group indices at once
# --------------------------------------------------------------------------------------------


@_in_blocks("group", "reference", "universe")
def single_group_indices(
    group: ArrayLike,
    reference: ArrayLike,
    universe: ArrayLike | None = None,
    *,
    atkinson_shapes: dict[str, float] | None = None,
) -> dict[str, Index]:
    """Every single-group index of ``group``, checking and summing the counts once.

    Evenness compares the group with ``reference`` over the pair (total = group +
    reference): ``dissimilarity``, ``gini``, ``entropy`` and one Atkinson index per entry
    of ``atkinson_shapes`` (result name → b; default ``{"atkinson": 0.5}``). Exposure is
    within ``universe`` (default the pair), which must hold both groups: ``isolation``,
    ``interaction`` (with the reference) and ``correlation_ratio``.

    Each value equals the function of the same name called on those counts (to rounding:
    the pair's rest is ``reference`` itself rather than pair − group), so the batch
    conventions, NaN and error messages are theirs; a single set of counts raises if any
    of the indices is undefined.
    """
    shapes = {"atkinson": 0.5} if atkinson_shapes is None else dict(atkinson_shapes)
    for b in shapes.values():
        _atkinson_shape(b)
    arrays = {"group": group, "reference": reference}
    if universe is not None:
        arrays["universe"] = universe
    c = _aligned(**arrays)
    g, r = c["group"], c["reference"]
    pair = g + r
    u = c.get("universe", pair)
    if _exceeds(pair, u):
        raise ValueError("group and reference: together exceed universe in some unit")
    members, others = g.sum(axis=-1), r.sum(axis=-1)
    outside = np.maximum(u - g, 0.0).sum(axis=-1)
    isolation_value = _exposure_value(g, _ratio(g, u), members)
    terms = _atkinson_terms(g, r, shapes.values())
    values = {
        "dissimilarity": _dissimilarity_value(g, r, members, others),
        "gini": _gini_value(_ratio(g, pair), pair, members, others),
        "entropy": _entropy_value(g, r, pair, members, others),
        **{name: _atkinson_value(terms[b], members, others, b) for name, b in shapes.items()},
        "isolation": isolation_value,
        "interaction": _exposure_value(g, _ratio(r, u), members),
        "correlation_ratio": _correlation_ratio_value(isolation_value, members, outside),
    }
    undefined = (
        (members <= 0, f"group: {_NO_MEMBERS}"),
        (others <= 0, f"reference: {_NO_MEMBERS}"),
    )
    return {name: _finish(value, *undefined) for name, value in values.items()}


# --------------------------------------------------------------------------------------------
# Multigroup indices: counts of shape (..., n_units, n_groups)
# --------------------------------------------------------------------------------------------


@_in_blocks("counts", unit_axes=2)
def multigroup_dissimilarity(counts: ArrayLike) -> Index:
    """Multigroup dissimilarity D = Σ_i Σ_k t_i |p_ik − P_k| / (2 T Σ_k P_k (1 − P_k)),
    PySAL ``MultiDissim`` (Sakoda 1981; Reardon & Firebaugh 2002).

    With two groups it equals the pairwise :func:`dissimilarity`.
    """
    n = _table(counts)
    units, groups = n.sum(axis=-1), n.sum(axis=-2)
    population = groups.sum(axis=-1)
    overall = _ratio(groups, population[..., None])
    diversity = (overall * (1 - overall)).sum(axis=-1)  # Simpson's interaction, Σ P_k (1 − P_k)
    # t_i |p_ik − P_k| = |n_ik − t_i P_k|
    spread = np.abs(n - units[..., None] * overall[..., None, :]).sum(axis=(-2, -1))
    value = _ratio(spread, 2 * population * diversity)
    return _finish(value, *_multigroup_undefined(population, diversity))


def _mutual(n: Array) -> tuple[Array, Array]:
    """Mutual information M of units and groups (natural log), and the population N."""
    units, groups = n.sum(axis=-1), n.sum(axis=-2)
    population = groups.sum(axis=-1)
    # p_ug / (p_u p_g) = n_ug N / (t_u N_g); n_ug > 0 implies t_u > 0 and N_g > 0.
    expected = units[..., :, None] * groups[..., None, :]
    lift = np.where(n > 0, n * population[..., None, None], 1.0) / np.where(n > 0, expected, 1.0)
    value = _ratio((n * np.log(lift)).sum(axis=(-2, -1)), population)
    return value, population


def _group_entropy(n: Array) -> Array:
    """E = −Σ_k P_k ln P_k over the groups' overall shares (0 ln 0 = 0)."""
    groups = n.sum(axis=-2)
    return -_xlogx(_ratio(groups, groups.sum(axis=-1)[..., None])).sum(axis=-1)


@_in_blocks("counts", unit_axes=2)
def mutual_information(counts: ArrayLike) -> Index:
    """Mutual information index M = Σ_u Σ_g p_ug ln(p_ug / (p_u p_g)), p_ug = n_ug / N.

    Theil & Finizza (1971); Mora & Ruiz-Castillo (2011); ``mutual_total`` in Elbers' R package
    ``segregation`` (natural log). 0 when every unit has the overall group mix; at most
    E = −Σ_g P_g ln P_g (complete segregation). Defined (as 0) even for one group.
    """
    n = _table(counts)
    value, population = _mutual(n)
    return _finish(value, (population <= 0, "counts: nobody in any unit"))


@_in_blocks("counts", unit_axes=2)
def multigroup_entropy(counts: ArrayLike) -> Index:
    """Multigroup Theil information index H = M / E, PySAL ``MultiInfoTheory``
    (Reardon & Firebaugh 2002): mutual information over the entropy E = −Σ_g P_g ln P_g of
    the group shares.

    A group with no members anywhere is left out (0 ln 0 = 0); PySAL returns NaN then.
    With two groups it equals the single-group :func:`entropy`.
    """
    n = _table(counts)
    mutual, population = _mutual(n)
    diversity = _group_entropy(n)
    return _finish(_ratio(mutual, diversity), *_multigroup_undefined(population, diversity))


class MutualInformationDecomposition(NamedTuple):
    """M over units = M between clusters + population-weighted M within clusters."""

    total: Index
    between: Index
    within: Index


def _cluster_index(clusters: ArrayLike, n_units: int) -> NDArray[np.intp]:
    """Cluster labels as codes 0 … n_clusters − 1, checked against the number of units."""
    labels = np.asarray(clusters)
    if labels.ndim != 1:
        raise ValueError("clusters: expected one label per unit (a 1-d array)")
    if len(labels) != n_units:
        raise ValueError(f"clusters: {len(labels)} labels for {n_units} units")
    if labels.dtype.kind == "O" and all(isinstance(label, str) for label in labels):
        labels = labels.astype(str)
    if labels.dtype.kind not in "buiUS":
        raise ValueError(f"clusters: expected integer (or string) labels, got {labels.dtype}")
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def _decomposed(n: Array, clusters: ArrayLike, population: Array) -> tuple[Array, Array]:
    """M between clusters and population-weighted M within them (see
    :func:`mutual_information_decomposition`)."""
    codes = _cluster_index(clusters, n.shape[-2])
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order], prepend=-1))
    by_cluster = np.add.reduceat(n[..., order, :], starts, axis=-2)  # (..., n_clusters, K)
    between, _ = _mutual(by_cluster)
    # Σ_c (N_c/N) M_c = Σ_u Σ_g (n_ug/N) ln(p_{g|u} / p_{g|c(u)}) = …ln(n_ug N_c / (t_u n_cg)).
    own_cluster = by_cluster[..., codes, :]  # (..., n_units, K): n_cg of each unit's cluster
    numerator = n * own_cluster.sum(axis=-1)[..., None]
    denominator = n.sum(axis=-1)[..., None] * own_cluster
    present = n > 0
    lift = np.where(present, numerator, 1.0) / np.where(present, denominator, 1.0)
    within = _ratio((n * np.log(lift)).sum(axis=(-2, -1)), population)
    return between, within


@_in_blocks("counts", unit_axes=2)
def mutual_information_decomposition(
    counts: ArrayLike, clusters: ArrayLike
) -> MutualInformationDecomposition:
    """Split M over units into between- and within-cluster parts (Theil 1971; Elbers 2021,
    "A method for studying differences in segregation across time and space", SMR).

    ``counts`` has shape (..., n_units, n_groups); ``clusters`` (n_units,) labels each unit's
    cluster (e.g. tract → town) and is shared by every draw. Returns (total, between, within):

    - total = :func:`mutual_information` over units;
    - between = M over the clusters' summed counts;
    - within = Σ_c (N_c / N) M_c, with M_c the M of cluster c's units. A cluster empty in a
      draw has weight 0.

    total = between + within (the chain rule of mutual information), up to rounding (~1e-15).
    """
    n = _table(counts)
    total, population = _mutual(n)
    between, within = _decomposed(n, clusters, population)
    undefined = (population <= 0, "counts: nobody in any unit")
    return MutualInformationDecomposition(
        total=_finish(total, undefined),
        between=_finish(between, undefined),
        within=_finish(within, undefined),
    )


@_in_blocks("counts", unit_axes=2)
def multigroup_indices(counts: ArrayLike, clusters: ArrayLike | None = None) -> dict[str, Index]:
    """Every multigroup index, computing M once: ``multigroup_dissimilarity``,
    ``multigroup_entropy`` and ``mutual_information``, and with ``clusters`` M's
    ``mutual_information_between`` and ``mutual_information_within`` parts. Each equals the
    function of the same name (batch conventions, NaN and messages are theirs); a single
    set of counts raises if any is undefined."""
    n = _table(counts)
    mutual, population = _mutual(n)
    diversity = _group_entropy(n)
    undefined = _multigroup_undefined(population, diversity)
    values = {
        "multigroup_dissimilarity": multigroup_dissimilarity(n),
        "multigroup_entropy": _finish(_ratio(mutual, diversity), *undefined),
        "mutual_information": _finish(mutual, undefined[0]),
    }
    if clusters is not None:
        between, within = _decomposed(n, clusters, population)
        values["mutual_information_between"] = _finish(between, undefined[0])
        values["mutual_information_within"] = _finish(within, undefined[0])
    return values
