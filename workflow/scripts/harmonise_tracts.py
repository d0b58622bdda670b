"""Snakemake script: an older year's tract table carried onto the latest year's tracts."""

import geopandas as gpd

from housing_segregation.harmonise import harmonised_tract_table
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
harmonised = harmonised_tract_table(
    gpd.read_parquet(snakemake.input.source), gpd.read_parquet(snakemake.input.target)
)
harmonised.to_parquet(snakemake.output.tracts, index=False)
