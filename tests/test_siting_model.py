"""Tests of the siting model (housing_segregation.siting_model).

Every outcome here is SYNTHETIC: drawn from a seeded generator with known coefficients, or set
by hand. None of it is, or imitates, a count of real subsidized housing; the real counts come
from another module.
"""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from shapely.geometry import box

from housing_segregation.siting_model import (
    PREDICTORS,
    fit_siting_model,
    fit_siting_models,
    race_neutral_counterfactual,
    siting_design,
    siting_summary,
    write_siting_summary,
)

# --------------------------------------------------------------------------------------------
# A synthetic data set drawn from a known model
# --------------------------------------------------------------------------------------------

#: True coefficients of the synthetic data (terms as the design names them).
TRUE_BETA = {
    "intercept": math.log(0.01),
    "minority_share_10pp": 0.12,
    "poverty_rate_10pp": 0.25,
    "renter_share_10pp": 0.10,
    "median_income_10k": -0.04,
    "log_density": 0.15,
}
#: True region effects against region R0 (the reference level).
TRUE_REGION_EFFECTS = {"R0": 0.0, "R1": 0.3, "R2": -0.4, "R3": 0.5, "R4": 0.2, "R5": -0.2}
TRUE_ALPHA = 0.8


def synthetic_tracts(seed: int, *, family: str, n: int = 2000) -> pd.DataFrame:
    """SYNTHETIC tracts: predictors with realistic ranges and correlations, and a count
    ``units`` drawn from the model with TRUE_BETA, TRUE_REGION_EFFECTS and (negative
    binomial) TRUE_ALPHA, with households as exposure. 200 towns, nested in 6 regions."""
    rng = np.random.default_rng(seed)
    regions = sorted(TRUE_REGION_EFFECTS)
    town = rng.integers(0, 200, n)
    region = np.array(regions)[town % len(regions)]
    households = rng.integers(300, 3000, n).astype(float)
    total = households * rng.uniform(2.0, 3.0, n)
    minority = rng.beta(1.2, 2.5, n)
    poverty = np.clip(0.03 + 0.25 * minority + rng.normal(0, 0.05, n), 0.005, 0.8)
    renters = np.clip(0.15 + 0.4 * minority + rng.normal(0, 0.1, n), 0.02, 0.95)
    income = np.clip(130_000 - 80_000 * minority + rng.normal(0, 20_000, n), 15_000, 250_001)
    density = np.exp(rng.normal(6.5 + 1.5 * minority, 1.0, n))
    design = {
        "minority_share_10pp": 10 * minority,
        "poverty_rate_10pp": 10 * poverty,
        "renter_share_10pp": 10 * renters,
        "median_income_10k": income / 1e4,
        "log_density": np.log(density),
    }
    eta = TRUE_BETA["intercept"] + sum(TRUE_BETA[k] * v for k, v in design.items())
    eta = eta + np.array([TRUE_REGION_EFFECTS[r] for r in region]) + np.log(households)
    mean = np.exp(eta)
    if family == "negative_binomial":  # NB2 as a gamma mixture of Poissons, Var = μ + α μ²
        mean = mean * rng.gamma(1 / TRUE_ALPHA, TRUE_ALPHA, n)
    units = rng.poisson(mean)
    return pd.DataFrame(
        {
            "geoid": [f"S{i:05d}" for i in range(n)],
            "households": households,
            "renters": renters * households,
            "total": total,
            "nonwhite": minority * total,
            "poverty_universe": 0.97 * total,
            "below_poverty": poverty * 0.97 * total,
            "median_household_income": income,
            "area_km2": total / density,
            "town_geoid": [f"T{t:03d}" for t in town],
            "planning_region_geoid": region,
            "units": units,
        }
    )


def true_params() -> pd.Series:
    truth = dict(TRUE_BETA)
    regions = {r: v for r, v in TRUE_REGION_EFFECTS.items() if r != "R0"}
    truth.update({f"planning_region_geoid[{r}]": v for r, v in regions.items()})
    return pd.Series(truth)


@pytest.fixture(scope="module")
def nb_data() -> pd.DataFrame:
    return synthetic_tracts(20240601, family="negative_binomial")


@pytest.fixture(scope="module")
def poisson_data() -> pd.DataFrame:
    return synthetic_tracts(20240602, family="poisson")


@pytest.fixture(scope="module")
def nb_model(nb_data):
    return fit_siting_model(siting_design(nb_data, "units", area_column="area_km2"))


def _assert_recovers(model, truth: pd.Series, *, max_se: float = 0.1) -> None:
    table = model.coefficients.set_index("term")
    assert list(table.index) == list(truth.index)
    # Within 4 standard errors for every term, including the fixed effects...
    distance = (table["estimate"] - truth).abs() / table["std_error"]
    assert (distance < 4).all(), distance.to_dict()
    # ...and the standard errors are small enough for that to mean something.
    assert (table.loc[list(PREDICTORS), "std_error"] < max_se).all()
    # The 95% IRR interval covers the true IRR for the predictors of interest.
    for term in ("minority_share_10pp", "poverty_rate_10pp"):
        true_irr = math.exp(truth[term])
        assert table.loc[term, "irr_ci_low"] < true_irr < table.loc[term, "irr_ci_high"], term
        assert table.loc[term, "irr"] == pytest.approx(math.exp(table.loc[term, "estimate"]))


# --------------------------------------------------------------------------------------------
# Recovery of known models
# --------------------------------------------------------------------------------------------


def test_negative_binomial_recovers_synthetic_truth(nb_model):
    _assert_recovers(nb_model, true_params())
    fit = nb_model.fit.iloc[0]
    assert fit["n"] == 2000 and fit["n_dropped"] == 0
    assert abs(fit["alpha"] - TRUE_ALPHA) < 4 * fit["alpha_std_error"]
    assert fit["alpha_std_error"] < 0.1
    # Pearson χ²/df near 1 under the right variance function; LR test rejects α = 0.
    assert 0.85 < fit["pearson_dispersion"] < 1.15
    assert fit["alpha_lr_p_value"] < 1e-6
    assert fit["n_clusters"] == 200 and fit["cov_type"] == "cluster"
    assert fit["n_parameters"] == len(true_params()) + 1
    assert fit["aic"] == pytest.approx(-2 * fit["log_likelihood"] + 2 * fit["n_parameters"])
    assert 0 < fit["pseudo_r2"] < 1


def test_poisson_recovers_synthetic_truth_and_passes_dispersion_check(poisson_data):
    design = siting_design(poisson_data, "units", area_column="area_km2")
    model = fit_siting_model(design, family="poisson")
    _assert_recovers(model, true_params(), max_se=0.05)
    fit = model.fit.iloc[0]
    assert 0.9 < fit["pearson_dispersion"] < 1.1
    assert fit["overdispersion_p_value"] > 0.01
    assert np.isnan(fit["alpha"])
    # With region fixed effects, Poisson fitted totals equal observed totals in every region
    # (the score equations of the region indicators).
    by_region = (
        model.fitted.assign(region=design.tracts["region"]).groupby("region").sum(numeric_only=True)
    )
    np.testing.assert_allclose(by_region["fitted"], by_region["observed"], rtol=1e-8)


def test_poisson_dispersion_check_flags_negative_binomial_data(nb_data):
    design = siting_design(nb_data, "units", area_column="area_km2")
    fit = fit_siting_model(design, family="poisson").fit.iloc[0]
    assert fit["pearson_dispersion"] > 2
    assert fit["overdispersion_p_value"] < 1e-6
    assert fit["overdispersion_alpha"] == pytest.approx(TRUE_ALPHA, rel=0.3)


# --------------------------------------------------------------------------------------------
# Oracles: statsmodels' own estimates and covariances
# --------------------------------------------------------------------------------------------


def test_estimates_and_cluster_errors_match_statsmodels(nb_data, nb_model):
    design = nb_model.design
    y = design.tracts["observed"].to_numpy()
    oracle = sm.NegativeBinomial(
        y, design.exog.to_numpy(), loglike_method="nb2", offset=design.offset
    )
    groups = pd.factorize(design.tracts["cluster"], sort=True)[0]
    result = oracle.fit(
        method="newton", maxiter=100, disp=0, cov_type="cluster", cov_kwds={"groups": groups}
    )
    np.testing.assert_allclose(nb_model.params.to_numpy(), result.params, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(nb_model.cov)), result.bse, rtol=1e-5)
    assert nb_model.fit["log_likelihood"].iloc[0] == pytest.approx(result.llf, rel=1e-10)
    assert nb_model.fit["log_likelihood_null"].iloc[0] == pytest.approx(result.llnull, rel=1e-8)


def test_hc1_is_statsmodels_hc0_times_small_sample_factor(nb_model):
    design = nb_model.design
    hc1 = fit_siting_model(design, cov_type="HC1")
    y = design.tracts["observed"].to_numpy()
    oracle = sm.NegativeBinomial(
        y, design.exog.to_numpy(), loglike_method="nb2", offset=design.offset
    )
    hc0 = oracle.fit(method="newton", maxiter=100, disp=0, cov_type="HC0")
    n, k = len(y), len(hc1.params)
    np.testing.assert_allclose(
        np.sqrt(np.diag(hc1.cov)), hc0.bse * math.sqrt(n / (n - k)), rtol=1e-5
    )
    assert hc1.fit["cov_type"].iloc[0] == "HC1"
    assert hc1.fit["cluster_column"].iloc[0] is None


def test_poisson_matches_statsmodels_glm(poisson_data):
    design = siting_design(poisson_data, "units", area_column="area_km2")
    model = fit_siting_model(design, family="poisson")
    glm = sm.GLM(
        design.tracts["observed"].to_numpy(),
        design.exog.to_numpy(),
        family=sm.families.Poisson(),
        offset=design.offset,
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(design.tracts["cluster"])[0]})
    np.testing.assert_allclose(model.params.to_numpy(), glm.params, rtol=1e-7)
    np.testing.assert_allclose(model.coefficients["std_error"], glm.bse, rtol=1e-6)


def test_fits_are_deterministic(nb_data, nb_model):
    again = fit_siting_model(siting_design(nb_data, "units", area_column="area_km2"))
    # Same input, same output, to the last bit: no random starts anywhere.
    pd.testing.assert_frame_equal(again.coefficients, nb_model.coefficients, check_exact=True)
    pd.testing.assert_frame_equal(again.fit, nb_model.fit, check_exact=True)


# --------------------------------------------------------------------------------------------
# Counterfactual
# --------------------------------------------------------------------------------------------


def test_counterfactual_equals_fitted_when_race_coefficient_is_zero(nb_model):
    design = nb_model.design
    observed = race_neutral_counterfactual(design, nb_model.params)
    # The counterfactual's fitted units are the model's fitted values...
    np.testing.assert_allclose(observed["fitted_units"], nb_model.fitted["fitted"], rtol=1e-12)
    # ...and differ from the counterfactual while the race coefficient is not zero.
    assert (observed["counterfactual_units"] - observed["fitted_units"]).abs().max() > 1
    params = nb_model.params.copy()
    params["minority_share_10pp"] = 0.0
    neutral = race_neutral_counterfactual(design, params)
    np.testing.assert_allclose(neutral["counterfactual_units"], neutral["fitted_units"], rtol=1e-14)


def hand_tracts() -> pd.DataFrame:
    """Four hand-built tracts in two regions (every count is made up)."""
    return pd.DataFrame(
        {
            "geoid": ["a1", "a2", "b1", "b2"],
            "region": ["A", "A", "B", "B"],
            "households": [100.0, 300.0, 200.0, 200.0],
            "total": [250.0, 500.0, 400.0, 400.0],
            "nonwhite": [50.0, 200.0, 40.0, 40.0],  # 20 %, 40 %, 10 %, 10 %
            "below_poverty": [10.0, 50.0, 20.0, 30.0],
            "poverty_universe": [240.0, 480.0, 390.0, 380.0],
            "renters": [20.0, 150.0, 50.0, 80.0],
            "median_household_income": [90_000.0, 50_000.0, 120_000.0, 80_000.0],
            "area_km2": [1.0, 0.5, 4.0, 2.0],
            "units": [30, 500, 45, 35],
        }
    )


def test_counterfactual_totals_by_region_match_hand_computation():
    design = siting_design(
        hand_tracts(),
        "units",
        fixed_effects="region",
        cluster=None,
        region="region",
        area_column="area_km2",
    )
    assert list(design.exog.columns) == ["intercept", *PREDICTORS, "region[B]"]
    params = {term: 0.0 for term in design.exog.columns}
    params.update(
        {"intercept": math.log(0.1), "minority_share_10pp": math.log(2), "region[B]": math.log(0.5)}
    )
    result = race_neutral_counterfactual(design, params).set_index("geoid")
    # Rate per housing unit 0.1 × 2^(minority share in 10 points) × (½ in region B).
    # Fitted: a1 = 100·0.1·2² = 40, a2 = 300·0.1·2⁴ = 480, b1 = b2 = 200·0.1·2¹·½ = 20.
    np.testing.assert_allclose(result["fitted_units"], [40, 480, 20, 20], rtol=1e-12)
    # Household-weighted regional means: A (100·2 + 300·4)/400 = 3.5, B 1.
    np.testing.assert_allclose(result["regional_minority_share_10pp"], [3.5, 3.5, 1, 1])
    # Counterfactual: a1 = 10·2^3.5 = 113.137, a2 = 30·2^3.5 = 339.411; B unchanged (20, 20).
    np.testing.assert_allclose(
        result["counterfactual_units"], [10 * 2**3.5, 30 * 2**3.5, 20, 20], rtol=1e-12
    )
    totals = result.groupby("region")[["fitted_units", "counterfactual_units"]].sum()
    # Region A: fitted 520, counterfactual 40·2^3.5 = 452.548 (an unweighted mean, 3.0, would
    # give 40·2³ = 320); region B, whose tracts share one minority share: 40 and 40.
    np.testing.assert_allclose(totals.loc["A"], [520, 40 * 2**3.5], rtol=1e-12)
    np.testing.assert_allclose(totals.loc["B"], [40, 40], rtol=1e-12)
    np.testing.assert_allclose(result["observed_units"], [30, 500, 45, 35])


def test_counterfactual_rejects_missing_or_unknown_terms():
    design = siting_design(
        hand_tracts(),
        "units",
        fixed_effects="region",
        cluster=None,
        region="region",
        area_column="area_km2",
    )
    params = {term: 0.0 for term in design.exog.columns}
    with pytest.raises(ValueError, match=r"region\[B\]"):
        race_neutral_counterfactual(design, {k: v for k, v in params.items() if k != "region[B]"})
    with pytest.raises(ValueError, match="white_share"):
        race_neutral_counterfactual(design, {**params, "white_share": 1.0})


# --------------------------------------------------------------------------------------------
# Drops and errors
# --------------------------------------------------------------------------------------------


def test_drops_are_reported_with_reasons(nb_data):
    data = nb_data.iloc[:400].copy()
    data.loc[0, "households"] = 0
    data.loc[1, "median_household_income"] = np.nan
    data.loc[2, "units"] = np.nan
    # A region whose every tract has no units, and a town level with a single tract.
    data.loc[data["planning_region_geoid"] == "R5", "units"] = 0
    data.loc[3, "planning_region_geoid"] = "R9"
    design = siting_design(data, "units", area_column="area_km2")
    reasons = design.dropped.set_index("geoid")["reason"]
    assert "no housing units" in reasons["S00000"]
    assert "median_income_10k" in reasons["S00001"]
    assert "missing outcome" in reasons["S00002"]
    assert "R9 dropped: single tract" in reasons["S00003"]
    r5 = data.loc[data["planning_region_geoid"] == "R5", "geoid"]
    assert reasons[r5].str.contains("R5 dropped: all tracts have 0 units").all()
    levels = design.dropped_levels.set_index("level")
    assert sorted(levels.index) == ["R5", "R9"]
    assert levels.loc["R9", "n_tracts"] == 1
    assert len(design.tracts) == 400 - len(design.dropped)
    assert not design.exog.columns.str.contains("R5|R9").any()
    model = fit_siting_model(design)
    assert model.fit["n_dropped"].iloc[0] == len(design.dropped)
    assert model.fit["n_levels_dropped"].iloc[0] == 2


def test_missing_columns_raise_naming_them(nb_data):
    with pytest.raises(ValueError, match="nonwhite"):
        siting_design(nb_data.drop(columns="nonwhite"), "units", area_column="area_km2")
    with pytest.raises(ValueError, match="lihtc_units"):
        siting_design(nb_data, "lihtc_units", area_column="area_km2")
    with pytest.raises(ValueError, match="town_geoid"):
        siting_design(nb_data.drop(columns="town_geoid"), "units", area_column="area_km2")
    with pytest.raises(ValueError, match="area_column"):
        siting_design(nb_data, "units")  # no geometry and no area column


def test_all_zero_and_invalid_outcomes_raise(nb_data):
    zero = nb_data.assign(units=0)
    with pytest.raises(ValueError, match="units: every usable tract has 0 units"):
        siting_design(zero, "units", area_column="area_km2")
    with pytest.raises(ValueError, match="non-negative"):
        siting_design(nb_data.assign(units=-nb_data["units"]), "units", area_column="area_km2")
    with pytest.raises(ValueError, match="whole numbers"):
        siting_design(nb_data.assign(units=nb_data["units"] + 0.5), "units", area_column="area_km2")


def test_bad_options_and_collinear_design_raise(nb_data):
    design = siting_design(nb_data, "units", area_column="area_km2")
    with pytest.raises(ValueError, match="family"):
        fit_siting_model(design, family="zip")
    with pytest.raises(ValueError, match="cov_type"):
        fit_siting_model(design, cov_type="HC3")
    flat = nb_data.assign(median_household_income=70_000.0)
    with pytest.raises(ValueError, match="median_income_10k"):
        fit_siting_model(siting_design(flat, "units", area_column="area_km2"))


def test_non_convergence_raises_with_program_name(nb_data, poisson_data):
    design = siting_design(nb_data, "units", area_column="area_km2")
    with pytest.raises(ValueError, match=r"program 'lihtc'.*did not converge"):
        fit_siting_model(design, program="lihtc", maxiter=1)
    # Poisson counts have no overdispersion for α to fit: the maximum is on the boundary.
    thin = siting_design(poisson_data, "units", area_column="area_km2")
    thin.tracts["observed"] = np.round(
        np.exp(thin.exog.to_numpy() @ true_params().to_numpy() + thin.offset)
    )
    with pytest.raises(ValueError, match=r"program 'section8'.*did not converge.*poisson"):
        fit_siting_model(thin, program="section8")


def test_area_needs_a_projected_geometry():
    tracts = hand_tracts().drop(columns="area_km2")
    shapes = [box(0, 0, 0.01, 0.01)] * 4
    geographic = gpd.GeoDataFrame(tracts, geometry=shapes, crs="EPSG:4326")
    with pytest.raises(ValueError, match="projected CRS"):
        siting_design(geographic, "units", fixed_effects="region", cluster=None, region="region")
    projected = gpd.GeoDataFrame(tracts, geometry=[box(0, 0, 1000, 2000)] * 4, crs="EPSG:5070")
    design = siting_design(
        projected, "units", fixed_effects="region", cluster=None, region="region"
    )
    # 2 km² each: density = total / 2.
    np.testing.assert_allclose(design.tracts["log_density"], np.log(tracts["total"] / 2))


# --------------------------------------------------------------------------------------------
# All programs, the summary, and real Connecticut shapes
# --------------------------------------------------------------------------------------------


def test_programs_and_their_total(nb_data, tmp_path):
    data = nb_data.iloc[:600].assign(
        first=nb_data["units"].iloc[:600] // 2,
        second=nb_data["units"].iloc[:600] - nb_data["units"].iloc[:600] // 2,
    )
    results = fit_siting_models(data, ["first", "second"], area_column="area_km2")
    assert list(results.fit["program"]) == ["first", "second", "all_programs"]
    total = results.models["all_programs"].design.tracts["observed"]
    np.testing.assert_array_equal(total, data["units"].to_numpy())
    assert set(results.counterfactual["program"]) == {"first", "second", "all_programs"}
    assert len(results.counterfactual) == 3 * 600
    with pytest.raises(ValueError, match="total_program"):
        fit_siting_models(data.assign(all_programs=1), ["first", "second"], area_column="area_km2")
    path = tmp_path / "siting_summary.txt"
    write_siting_summary(results, path)
    text = path.read_text(encoding="utf-8")
    assert text == siting_summary(results)
    assert "Program: all_programs" in text and "minority_share_10pp" in text
    assert "not evidence of intent" in text


def test_smoke_on_connecticut_tracts_with_synthetic_outcome(ct_tracts_2023, tmp_path):
    # The outcome is SYNTHETIC (negative binomial noise around 3 units per 100 households,
    # unrelated to race or poverty): it checks that real table shapes run, nothing more.
    tracts = ct_tracts_2023.copy()
    rng = np.random.default_rng(9)
    mean = 0.03 * tracts["households"].to_numpy()
    tracts["synthetic_program_a"] = rng.negative_binomial(1 / 1.5, 1 / (1 + 1.5 * mean))
    tracts["synthetic_program_b"] = rng.negative_binomial(2.0, 1 / (1 + 0.5 * mean / 3))
    results = fit_siting_models(tracts, ["synthetic_program_a", "synthetic_program_b"])
    fit = results.fit.set_index("program")
    no_housing = set(tracts.loc[tracts["households"] == 0, "geoid"])
    no_income = set(tracts.loc[tracts["median_household_income"].isna(), "geoid"])
    dropped = results.dropped[results.dropped["program"] == "synthetic_program_a"]
    assert set(dropped["geoid"]) == no_housing | no_income
    assert (fit["n"] == len(tracts) - len(no_housing | no_income)).all()
    assert (fit["n_clusters"] == tracts["town_geoid"].nunique()).all()
    assert fit["alpha"].gt(0).all() and np.isfinite(results.coefficients["std_error"]).all()
    counterfactual = results.counterfactual
    assert set(counterfactual["region"]) == set(tracts["planning_region_geoid"])
    assert np.isfinite(counterfactual[["fitted_units", "counterfactual_units"]]).all().all()
    write_siting_summary(results, tmp_path / "summary.txt")
    assert "synthetic_program_a" in (tmp_path / "summary.txt").read_text(encoding="utf-8")
    # As the pipeline writes it, the fit table names the state and year: so does the title.
    stated = results._replace(fit=results.fit.assign(year=2023, geography_id="09"))
    title = siting_summary(stated).splitlines()[0]
    assert title.endswith("per tract: state 09, ACS 2019-2023 tracts")

    # Town fixed effects with HC1: single-tract towns are not identifiable and are dropped.
    towns = fit_siting_models(
        tracts,
        ["synthetic_program_a"],
        family="poisson",
        cov_type="HC1",
        fixed_effects="town_geoid",
    )
    levels = towns.dropped_levels
    # Singletons among the tracts left after the row drops (a two-tract town can lose one).
    modelled = tracts[~tracts["geoid"].isin(no_housing | no_income)]
    singletons = modelled.groupby("town_geoid").size()
    assert len(levels) > 0 and (levels["n_tracts"] == 1).all()
    assert set(levels["level"]) == set(singletons[singletons == 1].index)
    assert np.isfinite(towns.fit["overdispersion_p_value"]).all()
