"""Where subsidized housing is sited: a count model of subsidized units per tract.

For each program (and all programs together) the number of subsidized units in tract i is a
count Y_i with mean

    μ_i = E_i · exp(x_i'β),   log μ_i = log E_i + x_i'β,

where the exposure E_i is the tract's housing units (``households``: occupied housing units,
ACS B25003_001) entering as a log offset, so exp(β) multiplies the *rate* of subsidized units
per housing unit: an incidence-rate ratio (IRR).

**Design** (:func:`siting_design`; the names below are the term names of every output):

=======================  ==========================================================  =========
term                     definition                                                  unit
=======================  ==========================================================  =========
``intercept``            constant                                                    —
``minority_share_10pp``  nonwhite / total × 100 / 10                                 10 points
``poverty_rate_10pp``    below_poverty / poverty_universe × 100 / 10                 10 points
``renter_share_10pp``    renters / households × 100 / 10                             10 points
``median_income_10k``    median_household_income / 10,000                            $10,000
``log_density``          ln(total / tract area in km²)                               ×e
``<fe>[<level>]``        one indicator per fixed-effect level but the first (sorted) 0/1
=======================  ==========================================================  =========

Shares are in units of **10 percentage points**, so the IRR of ``minority_share_10pp`` is the
factor by which the expected number of subsidized units per housing unit changes when a
tract's minority share is 10 points higher (e.g. 30 % → 40 %), other terms equal. One point
would give IRRs too close to 1 to read; one unit of a 0–1 share (0 % → 100 %) is far outside
the variation between comparable tracts. Income is per $10,000 of median household income
(ACS top-codes it at $250,001) rather than in logs, so its IRR reads in dollars. Density is
people per km² of the tract polygon (in the table's projected CRS, or ``area_column`` in km²),
logged; its IRR is per e-fold (×2.72) difference, and a doubling multiplies the rate by
IRR^0.693.

**Dropped tracts.** A tract with zero or missing housing units (no exposure), a missing
outcome, an undefined predictor (no population, no poverty universe, missing income or area),
or a missing fixed-effect, cluster or region key is left out, and ``dropped`` names it and why.
Fixed-effect levels that are not identifiable are then dropped with all their tracts:

- a level whose kept tracts all have 0 units: its coefficient's MLE is −∞ (the log-likelihood
  rises forever as it falls), so it has no estimate and the fit would not converge;
- a level with a single tract: its indicator fits that tract exactly whatever the other
  coefficients (the tract is perfectly predicted and tells nothing about them), and singletons
  left in make cluster-robust standard errors too small (Correia 2015, "Singletons,
  cluster-robust standard errors and fixed effects").

``dropped_levels`` lists them. Each level drop removes a whole level, so one pass suffices.

**Family.** ``"negative_binomial"`` (default) is NB2, Var(Y) = μ + α μ², fitted with the
``statsmodels`` discrete ``NegativeBinomial(loglike_method="nb2")`` likelihood, β and α
maximised *jointly*. We prefer it to a GLM with a profiled α because the GLM treats α as
known when computing standard errors and its log-likelihood, AIC and BIC are conditional on
α; the joint MLE gives α its own (robust) standard error, a likelihood-ratio test of α = 0,
and fit statistics that count α as a parameter. The optimiser is ours and fixed: Newton's
method on the analytic score and Hessian, from the Poisson estimates and the moment estimate
of α (Cameron & Trivedi 2013, §3.2), halving any step that does not raise the
log-likelihood or would make α ≤ 0, for at most ``maxiter`` steps; it has converged when the
Newton decrement g'(−H)⁻¹g is below 1e-10 and −H is positive definite. ``"poisson"`` is a
Poisson GLM (log link) fitted by IRLS with the same convergence check. With robust standard
errors the Poisson estimates remain valid for the mean whatever the dispersion (a
quasi-likelihood estimator: Gourieroux, Monfort & Trognon 1984; Santos Silva & Tenreyro
2006), so it is the check on NB's distributional assumption; its fit table carries a
dispersion check (Pearson χ²/df and the Cameron & Trivedi 1990 regression test of
overdispersion of the NB2 form). There are no random starts: same input, same output, and a
fit that does not converge raises ``ValueError`` naming the program.

**Standard errors** are sandwich estimators computed here from the score contributions s_i and
the Hessian H at the estimate (bread B = (−H)⁻¹, every parameter including α and the fixed
effects, k of them, n tracts):

- ``cov_type="cluster"`` (default; CRV1): B (Σ_g s_g s_g') B · G/(G−1) · (n−1)/(n−k), with s_g
  the sum of the scores of the tracts in cluster g (default ``town_geoid``: tracts in one town
  share its zoning, land-use board and housing authority, so their errors are not
  independent). This is statsmodels' ``cov_type="cluster"`` with ``use_correction=True``.
  With few clusters (say under 30) these standard errors are too small. k counts the
  fixed-effect indicators too, so with fixed effects nested in the clusters (town effects,
  town clusters) the (n−1)/(n−k) factor makes them somewhat conservative.
- ``cov_type="HC1"``: B (Σ_i s_i s_i') B · n/(n−k). (statsmodels' ``"HC1"`` for maximum
  likelihood models silently returns HC0, without n/(n−k), which is why it is computed here.)

Inference is normal (z): p-values are two-sided and intervals are β ± 1.96·SE, IRR = exp(β)
with interval exp(β ± 1.96·SE).

**Race-neutral counterfactual** (:func:`race_neutral_counterfactual`). Each tract's
counterfactual expected units replace its minority share by the mean share of its region
(``region``, default ``planning_region_geoid``) and keep every other term:

    μ_i^cf = E_i · exp(x_i'β + β_m (m̄_r − m_i)) = μ_i · exp(β_m (m̄_r − m_i)),

so when β_m = 0 the counterfactual equals the fitted values exactly, and a region whose
tracts all share one minority share is unchanged. The regional mean m̄_r is the
**household-weighted** mean of tract minority shares over the region's modelled tracts,
Σ E_i m_i / Σ E_i: the model is a rate per housing unit, so each housing unit (where units
can be sited) counts once, and a 40-household institutional tract does not weigh as much as a
3,000-household one. Regional totals are not held fixed: because exp is convex, Σ μ_i^cf
differs from Σ μ_i even when the shares average out, and the difference is part of what the
model attributes to the minority-share gradient.

How to read it: the counterfactual is the model's *association* between minority share and
siting, other terms held fixed, not evidence of intent or a causal effect. Omitted tract
characteristics that travel with minority share (land cost, zoning and lot sizes, transit,
age of the housing stock, vacant land, past urban-renewal siting) load onto β_m. The data are
tract aggregates, so nothing follows about individual households or developers (ecological
inference). The offset assumes subsidized units scale one-for-one with the housing stock
(elasticity 1) and uses occupied units, which already include the subsidized ones.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import gammaln

__all__ = [
    "COV_TYPES",
    "FAMILIES",
    "PREDICTORS",
    "RACE_TERMS",
    "TERM_UNITS",
    "SitingDesign",
    "SitingModel",
    "SitingResults",
    "fit_siting_model",
    "fit_siting_models",
    "race_neutral_counterfactual",
    "siting_design",
    "siting_summary",
    "write_siting_summary",
]

log = logging.getLogger(__name__)

FAMILIES = ("negative_binomial", "poisson")
COV_TYPES = ("cluster", "HC1")

#: Predictors of interest, then controls, in design order (after ``intercept``).
PREDICTORS = (
    "minority_share_10pp",
    "poverty_rate_10pp",
    "renter_share_10pp",
    "median_income_10k",
    "log_density",
)
#: Columns of the race-neutral counterfactual, per program and tract.
COUNTERFACTUAL_COLUMNS = [
    "program",
    "geoid",
    "region",
    "observed_units",
    "fitted_units",
    "counterfactual_units",
    "minority_share_10pp",
    "regional_minority_share_10pp",
]

#: The terms set to their regional mean in the race-neutral counterfactual.
RACE_TERMS = ("minority_share_10pp",)
#: What one unit of each term is (for tables and the summary).
TERM_UNITS = {
    "intercept": "log rate per housing unit at zero predictors",
    "minority_share_10pp": "per 10 points of nonwhite / total",
    "poverty_rate_10pp": "per 10 points of below_poverty / poverty_universe",
    "renter_share_10pp": "per 10 points of renters / households",
    "median_income_10k": "per $10,000 of median household income",
    "log_density": "per e-fold (x2.72) of people per km2",
}
#: Raw columns each predictor needs.
_PREDICTOR_SOURCES = {
    "minority_share_10pp": ("nonwhite", "total"),
    "poverty_rate_10pp": ("below_poverty", "poverty_universe"),
    "renter_share_10pp": ("renters", "households"),
    "median_income_10k": ("median_household_income",),
    "log_density": ("total",),
}

_Z95 = float(stats.norm.ppf(0.975))
#: Convergence: Newton decrement g'(-H)^-1 g, in log-likelihood units (scale-free in β).
_DECREMENT_TOL = 1e-10
_MAX_HALVINGS = 60


# --------------------------------------------------------------------------------------------
# Design
# --------------------------------------------------------------------------------------------


class SitingDesign(NamedTuple):
    """The model's data for one outcome, after drops.

    ``tracts`` has one row per modelled tract: ``geoid``, ``observed`` (the outcome),
    ``exposure`` (housing units), the :data:`PREDICTORS`, and the keys ``fixed_effect``,
    ``cluster`` and ``region`` (None where not asked for). ``exog`` is the design matrix (same
    row order; ``intercept``, the predictors, then one indicator ``<fe>[<level>]`` per kept
    fixed-effect level except the reference). ``offset`` is log exposure. ``dropped``
    (``geoid, reason``) and ``dropped_levels`` (``fixed_effect_column, level, n_tracts,
    reason``) say what was left out; ``columns`` records the caller's column names
    (``outcome, exposure, fixed_effects, cluster, region, id``) and ``reference_level``
    the fixed-effect level absorbed by the intercept.
    """

    tracts: pd.DataFrame
    exog: pd.DataFrame
    offset: np.ndarray
    dropped: pd.DataFrame
    dropped_levels: pd.DataFrame
    columns: dict
    reference_level: str | None


def _require_columns(tracts: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in dict.fromkeys(needed) if c not in tracts.columns]
    if missing:
        raise ValueError(f"tracts: missing column(s) {missing} needed by the siting model")


def _numeric(tracts: pd.DataFrame, column: str) -> pd.Series:
    try:
        return pd.to_numeric(tracts[column], errors="raise").astype(float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{column}: expected numbers ({error})") from None


def _areas_km2(tracts: pd.DataFrame, area_column: str | None) -> pd.Series:
    if area_column is not None:
        return _numeric(tracts, area_column)
    geometry = getattr(tracts, "geometry", None) if hasattr(tracts, "crs") else None
    if geometry is None:
        raise ValueError(
            "area_column: the table has no geometry; pass area_column (tract area in km²)"
        )
    crs = tracts.crs
    if crs is None or not crs.is_projected:
        raise ValueError(
            f"geometry: a projected CRS in metres is needed for tract areas, got {crs}; "
            "reproject (e.g. EPSG:5070) or pass area_column"
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise ValueError(f"geometry: CRS units must be metres for tract areas, got {unit!r}")
    return pd.Series(np.asarray(geometry.area, dtype=float) / 1e6, index=tracts.index)


def _keys(tracts: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(None, index=tracts.index, dtype=object)
    present = tracts[column].notna()
    keys = pd.Series(None, index=tracts.index, dtype=object)
    keys[present] = tracts.loc[present, column].astype(str).to_numpy()
    return keys


def siting_design(
    tracts: pd.DataFrame,
    outcome: str,
    *,
    exposure: str = "households",
    fixed_effects: str | None = "planning_region_geoid",
    cluster: str | None = "town_geoid",
    region: str | None = "planning_region_geoid",
    area_column: str | None = None,
    id_column: str = "geoid",
) -> SitingDesign:
    """The design of the siting model of ``outcome`` (units per tract) on ``tracts``.

    ``tracts`` needs ``id_column``, ``outcome``, ``exposure``, ``nonwhite``, ``total``,
    ``below_poverty``, ``poverty_universe``, ``renters``, ``median_household_income``, the
    key columns named by ``fixed_effects``, ``cluster`` and ``region`` (each may be None), and
    either a projected geometry in metres or ``area_column`` (km²). Renter share is renters
    over ``exposure``. See the module docstring for the terms, their units and the drops.

    Raises ``ValueError`` for a missing column, a negative or fractional outcome, an outcome
    that is zero in every usable tract, or no tract left to model.
    """
    if not isinstance(tracts, pd.DataFrame):
        raise ValueError(f"tracts: expected a DataFrame, got {type(tracts).__name__}")
    needed = [id_column, outcome, exposure, "nonwhite", "total", "below_poverty"]
    needed += ["poverty_universe", "renters", "median_household_income"]
    needed += [c for c in (fixed_effects, cluster, region, area_column) if c is not None]
    _require_columns(tracts, needed)
    if tracts[id_column].duplicated().any():
        duplicated = tracts.loc[tracts[id_column].duplicated(), id_column].tolist()[:5]
        raise ValueError(f"{id_column}: duplicated tract ids, e.g. {duplicated}")

    observed = _numeric(tracts, outcome)
    present = observed.dropna()
    if (present < 0).any():
        raise ValueError(f"{outcome}: units must be non-negative counts")
    if (present != np.round(present)).any():
        raise ValueError(f"{outcome}: units must be whole numbers (round allocated counts first)")

    households = _numeric(tracts, exposure)
    total = _numeric(tracts, "total")
    area = _areas_km2(tracts, area_column)

    def share(numerator: str, denominator: pd.Series) -> pd.Series:
        # 10-point units: share × 100 / 10.
        value = 10.0 * _numeric(tracts, numerator) / denominator.where(denominator > 0)
        return value.where(np.isfinite(value))

    density = total / area.where(area > 0)
    predictors = pd.DataFrame(
        {
            "minority_share_10pp": share("nonwhite", total),
            "poverty_rate_10pp": share("below_poverty", _numeric(tracts, "poverty_universe")),
            "renter_share_10pp": share("renters", households),
            "median_income_10k": _numeric(tracts, "median_household_income") / 1e4,
            "log_density": np.log(density.where(density > 0)),
        },
        index=tracts.index,
    )
    keys = {
        "fixed_effect": _keys(tracts, fixed_effects),
        "cluster": _keys(tracts, cluster),
        "region": _keys(tracts, region),
    }

    reasons: list[list[str]] = [[] for _ in range(len(tracts))]

    def flag(mask: pd.Series, reason: str) -> None:
        for position in np.flatnonzero(mask.to_numpy()):
            reasons[position].append(reason)

    flag(~(households > 0), f"no housing units ({exposure} is 0 or missing)")
    flag(observed.isna(), f"missing outcome ({outcome})")
    for name in PREDICTORS:
        sources = " / ".join(_PREDICTOR_SOURCES[name])
        if name == "log_density":
            sources = "total / area"
        flag(predictors[name].isna(), f"missing {name} ({sources} undefined)")
    for key, column in (("fixed_effect", fixed_effects), ("cluster", cluster), ("region", region)):
        if column is not None:
            flag(keys[key].isna(), f"missing {column}")

    kept = np.array([not r for r in reasons])
    ids = tracts[id_column].astype(str).to_numpy()
    dropped_rows = [(ids[i], "; ".join(r)) for i, r in enumerate(reasons) if r]

    if not kept.any():
        raise ValueError(f"{outcome}: no tract has an outcome, housing units and all predictors")
    if not (observed[kept] > 0).any():
        raise ValueError(
            f"{outcome}: every usable tract has 0 units; the siting model needs some units "
            "(a program with no units cannot be modelled)"
        )

    level_rows = []
    if fixed_effects is not None:
        fe = keys["fixed_effect"][kept]
        y = observed[kept]
        grouped = pd.DataFrame({"level": fe, "y": y}).groupby("level", sort=True)["y"]
        sizes, sums = grouped.size(), grouped.sum()
        for level in sizes.index:
            if sizes[level] == 1:
                reason = "single tract (perfectly predicted by its own indicator)"
            elif sums[level] == 0:
                reason = "all tracts have 0 units (coefficient not identifiable: −∞)"
            else:
                continue
            level_rows.append((fixed_effects, level, int(sizes[level]), reason))
            in_level = kept & (keys["fixed_effect"] == level).to_numpy()
            for i in np.flatnonzero(in_level):
                dropped_rows.append((ids[i], f"{fixed_effects} level {level} dropped: {reason}"))
            kept &= ~in_level

    if not kept.any():
        raise ValueError(
            f"{outcome}: no tract left after dropping non-identifiable {fixed_effects} levels"
        )
    if not (observed[kept] > 0).any():
        raise ValueError(f"{outcome}: every tract left has 0 units; nothing to model")

    data = pd.DataFrame(
        {
            "geoid": ids[kept],
            "observed": observed[kept].to_numpy(),
            "exposure": households[kept].to_numpy(),
        }
    )
    for name in PREDICTORS:
        data[name] = predictors.loc[kept, name].to_numpy()
    for key, series in keys.items():
        data[key] = series[kept].to_numpy()

    columns = {"intercept": np.ones(len(data))}
    columns.update({name: data[name].to_numpy() for name in PREDICTORS})
    reference = None
    if fixed_effects is not None:
        levels = sorted(data["fixed_effect"].unique())
        reference = levels[0]
        for level in levels[1:]:
            indicator = (data["fixed_effect"] == level).to_numpy(dtype=float)
            columns[f"{fixed_effects}[{level}]"] = indicator
    exog = pd.DataFrame(columns, index=pd.Index(data["geoid"], name="geoid"))

    dropped = pd.DataFrame(dropped_rows, columns=["geoid", "reason"])
    dropped = dropped.sort_values("geoid", kind="stable", ignore_index=True)
    dropped_levels = pd.DataFrame(
        level_rows, columns=["fixed_effect_column", "level", "n_tracts", "reason"]
    )
    names = {
        "outcome": outcome,
        "exposure": exposure,
        "fixed_effects": fixed_effects,
        "cluster": cluster,
        "region": region,
        "id": id_column,
    }
    return SitingDesign(
        tracts=data,
        exog=exog,
        offset=np.log(data["exposure"].to_numpy()),
        dropped=dropped,
        dropped_levels=dropped_levels,
        columns=names,
        reference_level=reference,
    )


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


class SitingModel(NamedTuple):
    """One fitted program.

    ``params`` holds β by term (and ``alpha`` for the negative binomial), ``cov`` their robust
    covariance; ``coefficients`` and ``fit`` are the tidy tables described in
    :func:`fit_siting_model`; ``fitted`` is ``geoid, observed, fitted`` per modelled tract.
    """

    program: str
    family: str
    design: SitingDesign
    params: pd.Series
    cov: pd.DataFrame
    coefficients: pd.DataFrame
    fit: pd.DataFrame
    fitted: pd.DataFrame


class _Estimate(NamedTuple):
    params: np.ndarray
    llf: float
    hessian: np.ndarray
    score_obs: np.ndarray
    iterations: int


def _decrement(score: np.ndarray, hessian: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Newton step (−H)⁻¹g, decrement g'(−H)⁻¹g, and whether −H is positive definite."""
    negative = -hessian
    try:
        factor = np.linalg.cholesky(negative)
    except np.linalg.LinAlgError:
        step = np.linalg.lstsq(negative, score, rcond=None)[0]
        return step, float(score @ step), False
    step = np.linalg.solve(factor.T, np.linalg.solve(factor, score))
    return step, float(score @ step), True


def _newton(model, start: np.ndarray, *, maxiter: int, positive_last: bool, what: str):
    """Maximise ``model.loglike`` by Newton's method with step halving (deterministic)."""
    params = np.asarray(start, dtype=float)
    llf = float(model.loglike(params))
    if not np.isfinite(llf):
        raise ValueError(f"{what}: the log-likelihood is not finite at the starting values")
    for iteration in range(maxiter + 1):
        score = np.asarray(model.score(params), dtype=float)
        hessian = np.asarray(model.hessian(params), dtype=float)
        step, decrement, definite = _decrement(score, hessian)
        if definite and 0 <= decrement < _DECREMENT_TOL:
            return _Estimate(params, llf, hessian, np.asarray(model.score_obs(params)), iteration)
        if iteration == maxiter or not np.all(np.isfinite(step)):
            break
        if not definite:
            # Far from the maximum the Hessian may be indefinite: take a gradient step,
            # scaled to the Hessian's diagonal, which still raises the likelihood.
            step = score / np.maximum(np.abs(np.diag(hessian)), 1e-12)
        length = 1.0
        for _ in range(_MAX_HALVINGS):
            candidate = params + length * step
            if not positive_last or candidate[-1] > 0:
                value = float(model.loglike(candidate))
                if np.isfinite(value) and value >= llf - 1e-12 * abs(llf):
                    break
            length /= 2
        else:
            break
        params, llf = candidate, value
    raise ValueError(
        f"{what}: the fit did not converge in {maxiter} Newton steps "
        "(a predictor or fixed-effect level may separate zero and non-zero tracts; for a "
        "negative binomial with α near 0, use family='poisson')"
    )


def _poisson(y, exog, offset, *, maxiter: int, what: str) -> tuple[_Estimate, object]:
    model = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below, not warned about
        try:
            result = model.fit(method="IRLS", maxiter=maxiter, tol=1e-12)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as error:
            raise ValueError(f"{what}: the Poisson fit did not converge ({error})") from None
    params = np.asarray(result.params, dtype=float)
    score = np.asarray(model.score(params, scale=1.0), dtype=float)
    hessian = np.asarray(model.hessian(params, scale=1.0), dtype=float)
    _, decrement, definite = _decrement(score, hessian)
    if not (result.converged and definite and np.isfinite(result.llf) and decrement < 1e-8):
        raise ValueError(
            f"{what}: the Poisson fit did not converge in {maxiter} IRLS steps "
            "(a predictor or fixed-effect level may separate zero and non-zero tracts)"
        )
    estimate = _Estimate(
        params,
        float(result.llf),
        hessian,
        np.asarray(model.score_obs(params, scale=1.0), dtype=float),
        int(result.fit_history["iteration"]),
    )
    return estimate, result


def _nb_start_alpha(y: np.ndarray, mu: np.ndarray, df_resid: int) -> float:
    """Moment estimate of NB2 α from Poisson residuals (statsmodels' start), at least 0.05."""
    return max(0.05, float((((y - mu) ** 2 / mu - 1) / mu).sum() / max(df_resid, 1)))


def _negative_binomial(y, exog, offset, poisson: _Estimate, *, maxiter: int, what: str):
    mu = np.exp(exog @ poisson.params + offset)
    # The NB2 log-likelihood's slope in α at α = 0 (β at the Poisson estimate, where its own
    # slope is 0) is ½ Σ ((y − μ)² − y). If it is not positive the maximum is the Poisson fit
    # on the boundary α = 0, which Newton steps in α cannot reach.
    if ((y - mu) ** 2 - y).sum() <= 0:
        raise ValueError(
            f"{what}: the negative binomial fit did not converge: the counts are not "
            "overdispersed given the predictors (the maximum is at α = 0, the Poisson fit); "
            "use family='poisson'"
        )
    model = sm.NegativeBinomial(y, exog, loglike_method="nb2", offset=offset)
    model._transparams = False  # α itself, not log α, is the last parameter
    start = np.append(poisson.params, _nb_start_alpha(y, mu, len(y) - exog.shape[1]))
    with np.errstate(all="ignore"):
        return _newton(model, start, maxiter=maxiter, positive_last=True, what=what)


def _null_log_likelihood(y, offset, family: str, *, maxiter: int, what: str) -> float:
    """Log-likelihood of the intercept-only model with the same offset (and its own α)."""
    rate = y.sum() / np.exp(offset).sum()
    mu = rate * np.exp(offset)
    if family == "poisson":
        return float((y * np.log(mu) - mu - gammaln(y + 1)).sum())
    ones = np.ones((len(y), 1))
    model = sm.NegativeBinomial(y, ones, loglike_method="nb2", offset=offset)
    model._transparams = False
    start = np.array([math.log(rate), _nb_start_alpha(y, mu, len(y) - 1)])
    with np.errstate(all="ignore"):
        null = _newton(model, start, maxiter=maxiter, positive_last=True, what=f"{what} (null)")
    return null.llf


def _sandwich(estimate: _Estimate, cov_type: str, clusters: np.ndarray | None) -> np.ndarray:
    """Robust covariance: HC1 or CRV1 (statsmodels' small-sample factors)."""
    bread = np.linalg.inv(-estimate.hessian)
    scores = estimate.score_obs
    n, k = scores.shape
    if cov_type == "HC1":
        meat = scores.T @ scores
        factor = n / (n - k)
    else:
        codes, _ = pd.factorize(pd.Series(clusters), sort=True)
        summed = np.zeros((codes.max() + 1, k))
        np.add.at(summed, codes, scores)
        meat = summed.T @ summed
        groups = summed.shape[0]
        if groups < 2:
            raise ValueError("cluster: cluster-robust errors need at least 2 clusters")
        factor = groups / (groups - 1) * (n - 1) / (n - k)
    cov = factor * bread @ meat @ bread
    return (cov + cov.T) / 2


def _collinear_terms(exog: pd.DataFrame) -> list[str]:
    """Terms that are linear combinations of the terms before them."""
    values = exog.to_numpy()
    scale = np.linalg.norm(values, axis=0)
    values = values / np.where(scale > 0, scale, 1.0)
    tol = 1e-9 * len(values)
    if np.linalg.matrix_rank(values, tol=tol) == values.shape[1]:
        return []
    collinear, rank = [], 0
    for j, name in enumerate(exog.columns):
        columns = [c for c in range(j + 1) if exog.columns[c] not in collinear]
        new_rank = np.linalg.matrix_rank(values[:, columns], tol=tol)
        if new_rank > rank:
            rank = new_rank
        else:
            collinear.append(name)
    return collinear


def _term_type(term: str) -> str:
    if term == "intercept":
        return "intercept"
    if term in RACE_TERMS:
        return "race"
    if term in ("poverty_rate_10pp",):
        return "predictor"
    if term in PREDICTORS:
        return "control"
    return "fixed_effect"


def fit_siting_model(
    design: SitingDesign,
    *,
    program: str | None = None,
    family: str = "negative_binomial",
    cov_type: str = "cluster",
    maxiter: int = 100,
) -> SitingModel:
    """Fit the siting model to a :func:`siting_design`.

    ``program`` labels the outputs (default: the outcome column). ``family`` is
    ``"negative_binomial"`` (NB2, α estimated) or ``"poisson"``; ``cov_type`` is
    ``"cluster"`` (CRV1 by the design's ``cluster`` column) or ``"HC1"``; ``maxiter`` caps
    Newton (or IRLS) steps. Deterministic; raises ``ValueError`` naming the program if the
    fit does not converge, or naming the collinear terms if the design is rank-deficient.

    ``coefficients`` (one row per term): ``program, family, term, term_type, unit, estimate,
    std_error, z_value, p_value, ci_low, ci_high, irr, irr_ci_low, irr_ci_high, n, cov_type``
    (``term_type``: intercept, race, predictor, control, fixed_effect; intervals 95 %).

    ``fit`` (one row): ``program, family, outcome, n, n_dropped, n_levels_dropped,
    fixed_effect_column, fixed_effect_reference, cov_type, cluster_column, n_clusters,
    n_parameters, iterations, log_likelihood, log_likelihood_null, aic, bic, pseudo_r2``
    (McFadden, against the intercept-only model with the same offset), ``alpha,
    alpha_std_error, alpha_lr_statistic, alpha_lr_p_value`` (NB: likelihood-ratio test of α =
    0 against the Poisson fit, p-value halved for the boundary), ``pearson_chi2,
    pearson_dispersion`` (Pearson χ² / (n − k); near 1 if the variance function is right),
    ``overdispersion_alpha, overdispersion_p_value`` (Poisson: Cameron–Trivedi regression of
    ((y − μ)² − y)/μ on μ, one-sided), ``observed_total, fitted_total, fitted_to_observed``.
    """
    program = program or design.columns["outcome"]
    what = f"program {program!r}"
    if family not in FAMILIES:
        raise ValueError(f"family: expected one of {FAMILIES}, got {family!r}")
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type: expected one of {COV_TYPES}, got {cov_type!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1:
        raise ValueError(f"maxiter: must be a positive integer, got {maxiter!r}")
    if cov_type == "cluster" and design.columns["cluster"] is None:
        raise ValueError("cluster: cov_type='cluster' needs a cluster column in the design")
    collinear = _collinear_terms(design.exog)
    if collinear:
        raise ValueError(
            f"{what}: the design is rank-deficient; {collinear} are linear combinations of "
            "earlier terms (constant, or fixed effects absorb them)"
        )

    exog = design.exog.to_numpy()
    terms = list(design.exog.columns)
    y = design.tracts["observed"].to_numpy(dtype=float)
    offset = design.offset
    n = len(y)
    if n <= exog.shape[1] + (family == "negative_binomial"):
        raise ValueError(f"{what}: {n} tracts cannot identify {exog.shape[1]} coefficients")

    poisson, _ = _poisson(y, exog, offset, maxiter=maxiter, what=what)
    if family == "poisson":
        estimate = poisson
        names = terms
    else:
        estimate = _negative_binomial(y, exog, offset, poisson, maxiter=maxiter, what=what)
        names = [*terms, "alpha"]
        if estimate.params[-1] < 1e-8:
            raise ValueError(
                f"{what}: the negative binomial fit did not converge to an interior α "
                f"(α = {estimate.params[-1]:.2g}); the counts are not overdispersed, use "
                "family='poisson'"
            )
    clusters = design.tracts["cluster"].to_numpy() if cov_type == "cluster" else None
    cov = _sandwich(estimate, cov_type, clusters)
    std_error = np.sqrt(np.diag(cov))
    if not np.all(np.isfinite(std_error)):
        raise ValueError(f"{what}: robust standard errors are not finite")

    beta = estimate.params[: len(terms)]
    se = std_error[: len(terms)]
    z = beta / se
    low, high = beta - _Z95 * se, beta + _Z95 * se
    coefficients = pd.DataFrame(
        {
            "program": program,
            "family": family,
            "term": terms,
            "term_type": [_term_type(t) for t in terms],
            "unit": [TERM_UNITS.get(t, "fixed effect vs reference level") for t in terms],
            "estimate": beta,
            "std_error": se,
            "z_value": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": low,
            "ci_high": high,
            "irr": np.exp(beta),
            "irr_ci_low": np.exp(low),
            "irr_ci_high": np.exp(high),
            "n": n,
            "cov_type": cov_type,
        }
    )

    mu = np.exp(exog @ beta + offset)
    k = len(estimate.params)
    variance = mu + (estimate.params[-1] * mu**2 if family == "negative_binomial" else 0)
    pearson = float((((y - mu) ** 2) / variance).sum())
    llnull = _null_log_likelihood(y, offset, family, maxiter=maxiter, what=what)
    alpha = alpha_se = lr = lr_p = np.nan
    ct_alpha = ct_p = np.nan
    if family == "negative_binomial":
        alpha, alpha_se = float(estimate.params[-1]), float(std_error[-1])
        lr = max(0.0, 2 * (estimate.llf - poisson.llf))
        lr_p = 0.5 * float(stats.chi2.sf(lr, 1))
    else:
        # Cameron & Trivedi (1990): ((y-μ)² − y)/μ = α μ + error, one-sided t-test of α > 0.
        response = ((y - mu) ** 2 - y) / mu
        ct_alpha = float(response @ mu / (mu @ mu))
        residual = response - ct_alpha * mu
        ct_se = math.sqrt(float(residual @ residual) / (n - 1) / float(mu @ mu))
        ct_p = float(stats.norm.sf(ct_alpha / ct_se))
    fit = pd.DataFrame(
        [
            {
                "program": program,
                "family": family,
                "outcome": design.columns["outcome"],
                "n": n,
                "n_dropped": len(design.dropped),
                "n_levels_dropped": len(design.dropped_levels),
                "fixed_effect_column": design.columns["fixed_effects"],
                "fixed_effect_reference": design.reference_level,
                "cov_type": cov_type,
                "cluster_column": design.columns["cluster"] if cov_type == "cluster" else None,
                "n_clusters": len(set(clusters)) if clusters is not None else np.nan,
                "n_parameters": k,
                "iterations": estimate.iterations,
                "log_likelihood": estimate.llf,
                "log_likelihood_null": llnull,
                "aic": -2 * estimate.llf + 2 * k,
                "bic": -2 * estimate.llf + k * math.log(n),
                "pseudo_r2": 1 - estimate.llf / llnull,
                "alpha": alpha,
                "alpha_std_error": alpha_se,
                "alpha_lr_statistic": lr,
                "alpha_lr_p_value": lr_p,
                "pearson_chi2": pearson,
                "pearson_dispersion": pearson / (n - k),
                "overdispersion_alpha": ct_alpha,
                "overdispersion_p_value": ct_p,
                "observed_total": float(y.sum()),
                "fitted_total": float(mu.sum()),
                # NB means need not add up to the observed total (Poisson ones do): far from
                # 1, read the rate ratios, not the fitted or counterfactual totals.
                "fitted_to_observed": float(mu.sum() / y.sum()) if y.sum() > 0 else np.nan,
            }
        ]
    )
    if cov_type == "cluster" and fit["n_clusters"].iloc[0] < 30:
        log.warning(
            "%s: only %d clusters; cluster-robust standard errors will be too small",
            what,
            int(fit["n_clusters"].iloc[0]),
        )
    log.info(
        "%s: %s fit of %d tracts (%d dropped) in %d steps, log-likelihood %.3f",
        what,
        family,
        n,
        len(design.dropped),
        estimate.iterations,
        estimate.llf,
    )
    fitted = pd.DataFrame({"geoid": design.tracts["geoid"], "observed": y, "fitted": mu})
    return SitingModel(
        program=program,
        family=family,
        design=design,
        params=pd.Series(estimate.params, index=names, name=program),
        cov=pd.DataFrame(cov, index=names, columns=names),
        coefficients=coefficients,
        fit=fit,
        fitted=fitted,
    )


# --------------------------------------------------------------------------------------------
# Counterfactual
# --------------------------------------------------------------------------------------------


def race_neutral_counterfactual(
    design: SitingDesign,
    params: Mapping[str, float] | pd.Series,
    *,
    program: str | None = None,
) -> pd.DataFrame:
    """Expected units per tract with the race term(s) set to their regional mean.

    ``params`` gives a coefficient for every column of ``design.exog`` (a fitted model's
    ``params``, or values set by hand; ``alpha`` is ignored). For tract i in region r,

        fitted_i = E_i exp(x_i'β),   counterfactual_i = fitted_i · exp(β_m (m̄_r − m_i)),

    with m̄_r the household-weighted mean of ``minority_share_10pp`` over the region's
    modelled tracts (see the module docstring for why, and for how to read it). If β_m = 0,
    counterfactual_i = fitted_i.

    Example: one region, tracts with 100 and 300 housing units and minority shares of 20 %
    and 40 % (2 and 4 in 10-point units), β = (ln 0.1 intercept, ln 2 minority share, 0
    otherwise). m̄ = (100·2 + 300·4)/400 = 3.5; fitted = 100·0.1·2² = 40 and 300·0.1·2⁴ = 480;
    counterfactual = 100·0.1·2^3.5 ≈ 113.14 and 300·0.1·2^3.5 ≈ 339.41 (total 452.5 against
    520). With β_m = 0 both tracts give 10 and 30 either way.

    The counterfactual does not hold a region's total fixed: where minority share goes with
    fewer units (β_m < 0) it places more units in all. For siting a given number of units,
    ``counterfactual_units_observed_total`` spreads each region's observed units in
    proportion to the counterfactual: observed_r · counterfactual_i / Σ_r counterfactual.

    Returns one row per modelled tract: ``program, geoid, region, observed_units,
    fitted_units, counterfactual_units, counterfactual_units_observed_total,
    minority_share_10pp, regional_minority_share_10pp``. Raises ``ValueError`` naming a
    missing or unknown term, or if the design has no region column.
    """
    if design.columns["region"] is None:
        raise ValueError("region: the counterfactual needs a region column in the design")
    params = pd.Series(params, dtype=float)
    terms = list(design.exog.columns)
    missing = [t for t in terms if t not in params.index]
    if missing:
        raise ValueError(f"params: no coefficient for term(s) {missing}")
    unknown = [t for t in params.index if t not in terms and t != "alpha"]
    if unknown:
        raise ValueError(f"params: term(s) {unknown} are not in the design")
    beta = params[terms].to_numpy()
    if not np.all(np.isfinite(beta)):
        raise ValueError("params: coefficients must be finite")

    data = design.tracts
    weights = data["exposure"].to_numpy()
    neutral = design.exog.copy()
    regional = pd.DataFrame(index=data.index)
    for term in RACE_TERMS:
        weighted = (
            pd.Series(weights * data[term].to_numpy()).groupby(data["region"]).transform("sum")
        )
        totals = pd.Series(weights).groupby(data["region"]).transform("sum")
        regional[term] = (weighted / totals).to_numpy()
        neutral[term] = regional[term].to_numpy()
    fitted = np.exp(design.exog.to_numpy() @ beta + design.offset)
    counterfactual = np.exp(neutral.to_numpy() @ beta + design.offset)
    region = pd.Series(data["region"].to_numpy())
    observed_total = pd.Series(data["observed"].to_numpy()).groupby(region).transform("sum")
    counterfactual_total = pd.Series(counterfactual).groupby(region).transform("sum")
    placed = (observed_total * counterfactual / counterfactual_total).to_numpy()
    return pd.DataFrame(
        {
            "program": program or design.columns["outcome"],
            "geoid": data["geoid"].to_numpy(),
            "region": data["region"].to_numpy(),
            "observed_units": data["observed"].to_numpy(),
            "fitted_units": fitted,
            "counterfactual_units": counterfactual,
            "counterfactual_units_observed_total": placed,
            "minority_share_10pp": data["minority_share_10pp"].to_numpy(),
            "regional_minority_share_10pp": regional["minority_share_10pp"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------------------------
# All programs
# --------------------------------------------------------------------------------------------


class SitingResults(NamedTuple):
    """Tidy tables over programs (each with a ``program`` column first), and the models."""

    coefficients: pd.DataFrame
    fit: pd.DataFrame
    counterfactual: pd.DataFrame
    dropped: pd.DataFrame
    dropped_levels: pd.DataFrame
    models: dict


def fit_siting_models(
    tracts: pd.DataFrame,
    programs: Mapping[str, str] | Sequence[str],
    *,
    total_program: str | None = "all_programs",
    family: str = "negative_binomial",
    cov_type: str = "cluster",
    exposure: str = "households",
    fixed_effects: str | None = "planning_region_geoid",
    cluster: str | None = "town_geoid",
    region: str | None = "planning_region_geoid",
    area_column: str | None = None,
    id_column: str = "geoid",
    maxiter: int = 100,
) -> SitingResults:
    """The siting model of each program, and of their total, with counterfactuals.

    ``programs`` maps program names to outcome columns of ``tracts`` (or is a list of
    columns, named after themselves). With two or more programs and ``total_program`` set,
    the model is also fitted to their sum per tract under that name (a tract missing any
    program's count is missing from the total). Other arguments are those of
    :func:`siting_design` and :func:`fit_siting_model`; ``cluster`` is only needed for
    ``cov_type="cluster"`` and ``region`` only for the counterfactual (None skips it).

    Returns ``coefficients`` and ``fit`` (rows of :func:`fit_siting_model`),
    ``counterfactual`` (rows of :func:`race_neutral_counterfactual`), ``dropped``
    (``program, geoid, reason``), ``dropped_levels`` (``program, fixed_effect_column, level,
    n_tracts, reason``) and ``models`` (program → :class:`SitingModel`).
    """
    if isinstance(programs, str):
        raise ValueError("programs: expected a list of outcome columns or a mapping, got a str")
    outcomes = dict(programs) if isinstance(programs, Mapping) else {p: p for p in programs}
    if not outcomes:
        raise ValueError("programs: no program to model")
    _require_columns(tracts, list(outcomes.values()))
    table = tracts
    if total_program is not None and len(outcomes) > 1:
        if total_program in outcomes:
            raise ValueError(f"total_program: {total_program!r} is also a program name")
        if total_program in tracts.columns:
            raise ValueError(
                f"total_program: {total_program!r} is already a column of tracts; choose "
                "another name for the sum of the programs"
            )
        column = total_program
        table = tracts.copy()
        counts = tracts[list(outcomes.values())].apply(pd.to_numeric, errors="coerce")
        table[column] = counts.sum(axis=1, min_count=counts.shape[1]).where(
            counts.notna().all(axis=1)
        )
        outcomes[total_program] = column

    models = {}
    counterfactuals, dropped, levels = [], [], []
    for program, outcome in outcomes.items():
        design = siting_design(
            table,
            outcome,
            exposure=exposure,
            fixed_effects=fixed_effects,
            cluster=cluster if cov_type == "cluster" else None,
            region=region,
            area_column=area_column,
            id_column=id_column,
        )
        model = fit_siting_model(
            design, program=program, family=family, cov_type=cov_type, maxiter=maxiter
        )
        models[program] = model
        if region is not None:
            counterfactuals.append(
                race_neutral_counterfactual(design, model.params, program=program)
            )
        dropped.append(design.dropped.assign(program=program))
        levels.append(design.dropped_levels.assign(program=program))

    def stacked(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]

    return SitingResults(
        coefficients=pd.concat([m.coefficients for m in models.values()], ignore_index=True),
        fit=pd.concat([m.fit for m in models.values()], ignore_index=True),
        counterfactual=stacked(counterfactuals, COUNTERFACTUAL_COLUMNS),
        dropped=stacked(dropped, ["program", "geoid", "reason"]),
        dropped_levels=stacked(
            levels, ["program", "fixed_effect_column", "level", "n_tracts", "reason"]
        ),
        models=models,
    )


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------

_READING = """\
How to read this. Each IRR multiplies the expected number of subsidized units per housing unit
for one unit of its term (see 'unit'), the other terms held fixed. This is an association in
tract aggregates, not evidence of intent or of a causal effect: land cost, zoning, transit, the
age of the housing stock and past siting decisions are not in the model and may travel with
minority share (omitted variables); nothing follows about individual households or developers
(ecological inference); and the exposure assumes units scale one-for-one with occupied housing
units. The counterfactual sets each tract's minority share to its region's household-weighted
mean and keeps every other term."""


def _number(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def siting_summary(results: SitingResults) -> str:
    """A plain-text report of :func:`fit_siting_models`: per program the fit statistics, the
    coefficients as IRRs with 95 % intervals, the dropped tracts and levels, and observed,
    fitted and counterfactual units by region; in the title, the state and ACS year the
    models were fitted to, where the fit table carries them (the pipeline's does)."""
    title = "Siting model of subsidized housing units per tract"
    fit_table = results.fit
    if {"geography_id", "year"} <= set(fit_table.columns) and len(fit_table):
        first = fit_table.iloc[0]
        year = int(first["year"])
        title += f": state {first['geography_id']}, ACS {year - 4}-{year} tracts"
    lines = [title, "=" * len(title), "", _READING, ""]
    for _, fit in results.fit.iterrows():
        program = fit["program"]
        title = f"Program: {program} ({fit['family'].replace('_', ' ')}, outcome {fit['outcome']})"
        lines += [title, "-" * len(title)]
        clusters = (
            f"cluster-robust by {fit['cluster_column']} ({int(fit['n_clusters'])} clusters)"
            if fit["cov_type"] == "cluster"
            else "HC1 heteroskedasticity-robust"
        )
        lines.append(
            f"n = {int(fit['n']):,} tracts ({int(fit['n_dropped'])} dropped); "
            f"standard errors {clusters}"
        )
        lines.append(
            f"log-likelihood {_number(fit['log_likelihood'])}, null "
            f"{_number(fit['log_likelihood_null'])}, AIC {_number(fit['aic'], 1)}, "
            f"BIC {_number(fit['bic'], 1)}, McFadden pseudo-R² {_number(fit['pseudo_r2'])}"
        )
        if fit["family"] == "negative_binomial":
            lines.append(
                f"alpha (NB2 dispersion) {_number(fit['alpha'])} (SE "
                f"{_number(fit['alpha_std_error'])}); LR test of alpha = 0: "
                f"{_number(fit['alpha_lr_statistic'], 1)}, p {_p(fit['alpha_lr_p_value'])}; "
                f"Pearson chi2/df {_number(fit['pearson_dispersion'])}"
            )
        else:
            lines.append(
                f"dispersion check: Pearson chi2/df {_number(fit['pearson_dispersion'])}; "
                f"Cameron-Trivedi alpha {_number(fit['overdispersion_alpha'])}, "
                f"p {_p(fit['overdispersion_p_value'])} (small p: overdispersed)"
            )
        if fit["fixed_effect_column"] is not None:
            lines.append(
                f"fixed effects: {fit['fixed_effect_column']} "
                f"(reference level {fit['fixed_effect_reference']})"
            )
        lines.append("")
        table = results.coefficients[results.coefficients["program"] == program]
        width = max(len(t) for t in table["term"])
        lines.append(f"{'term':<{width}}  {'IRR':>8}  {'95% interval':>19}  {'p':>7}  unit")
        for _, row in table.iterrows():
            interval = f"[{row['irr_ci_low']:.3f}, {row['irr_ci_high']:.3f}]"
            lines.append(
                f"{row['term']:<{width}}  {row['irr']:>8.3f}  {interval:>19}  "
                f"{_p(row['p_value']):>7}  {row['unit']}"
            )
        levels = results.dropped_levels[results.dropped_levels["program"] == program]
        for _, row in levels.iterrows():
            lines.append(
                f"dropped level {row['fixed_effect_column']} {row['level']} "
                f"({row['n_tracts']} tracts): {row['reason']}"
            )
        dropped = results.dropped[results.dropped["program"] == program]
        if len(dropped):
            lines.append(f"dropped tracts ({len(dropped)}):")
            lines += [f"  {row['geoid']}: {row['reason']}" for _, row in dropped.iterrows()]
        counterfactual = results.counterfactual
        if len(counterfactual):
            by_region = (
                counterfactual[counterfactual["program"] == program]
                .groupby("region", sort=True)[
                    ["observed_units", "fitted_units", "counterfactual_units"]
                ]
                .sum()
            )
            lines += ["", f"{'region':<12}  {'observed':>10}  {'fitted':>10}  {'race-neutral':>12}"]
            for region, row in by_region.iterrows():
                lines.append(
                    f"{region!s:<12}  {row['observed_units']:>10,.0f}  "
                    f"{row['fitted_units']:>10,.1f}  {row['counterfactual_units']:>12,.1f}"
                )
        lines.append("")
    return "\n".join(lines)


def write_siting_summary(results: SitingResults, path: str | Path) -> None:
    """Write :func:`siting_summary` to ``path`` (UTF-8)."""
    Path(path).write_text(siting_summary(results), encoding="utf-8")
