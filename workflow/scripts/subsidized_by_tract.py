"""Snakemake script: a state project inventory -> assisted units per tract, and the projects."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import subsidized_by_tract

log_to(snakemake.log[0])
by_tract, projects = subsidized_by_tract(
    snakemake.input.inventory, gpd.read_parquet(snakemake.input.tracts)
)
by_tract.to_parquet(snakemake.output.by_tract, index=False)
projects.to_parquet(snakemake.output.projects, index=False)
