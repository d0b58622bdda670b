"""Snakemake script: tidy tracts -> tract GeoParquet with HUD R/ECAP flags and local indices."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.recap import recap_table

log_to(snakemake.log[0])
recaps = recap_table(gpd.read_parquet(snakemake.input.tracts), snakemake.params.thresholds)
recaps.to_parquet(snakemake.output.recaps, index=False)
