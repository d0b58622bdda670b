"""Snakemake script: an older year's tract (or block-group) table carried onto the latest
year's units, by the Census relationship file's shares where the run has it, else a boundary
overlay."""

import geopandas as gpd

from housing_segregation.harmonise import harmonise_units
from housing_segregation.logs import log_to
from housing_segregation.units import unit_level

log_to(snakemake.log[0])
harmonised = harmonise_units(
    gpd.read_parquet(snakemake.input.source),
    gpd.read_parquet(snakemake.input.target),
    state=snakemake.wildcards.state,
    unit=unit_level(snakemake.params.unit_level),
    relationships=snakemake.input.get("relationships"),
)
harmonised.to_parquet(snakemake.output.table, index=False)
