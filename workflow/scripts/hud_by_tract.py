"""Snakemake script: HUD's configured files -> their figures for the run's tracts (tidy)."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import hud_by_tract

log_to(snakemake.log[0])
files = {name: path for name, path in snakemake.input.items() if name != "tracts"}
table = hud_by_tract(
    gpd.read_parquet(snakemake.input.tracts),
    files,
    snakemake.params.settings,
    state=snakemake.wildcards.state,
)
table.to_csv(snakemake.output.table, index=False, float_format="%.10g", lineterminator="\n")
