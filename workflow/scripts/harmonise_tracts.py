"""Snakemake script: an older year's tract table carried onto the latest year's tracts, by
the Census relationship file's shares where the run has it, else a boundary overlay."""

import geopandas as gpd

from housing_segregation.harmonise import harmonise_tracts
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
harmonised = harmonise_tracts(
    gpd.read_parquet(snakemake.input.source),
    gpd.read_parquet(snakemake.input.target),
    state=snakemake.wildcards.state,
    relationships=snakemake.input.get("relationships"),
)
harmonised.to_parquet(snakemake.output.tracts, index=False)
