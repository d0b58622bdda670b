"""Snakemake script: tracts and units per tract -> the siting model of each program."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.siting_model import write_siting_summary
from housing_segregation.subsidized import fit_models

log_to(snakemake.log[0])
results = fit_models(
    gpd.read_parquet(snakemake.input.tracts),
    gpd.read_parquet(snakemake.input.by_tract),
    snakemake.params.settings,
)
for name in ("coefficients", "fit", "counterfactual"):
    getattr(results, name).to_csv(
        snakemake.output[name], index=False, float_format="%.10g", lineterminator="\n"
    )
write_siting_summary(results, snakemake.output.summary)
