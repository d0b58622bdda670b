"""Snakemake script: tidy tracts -> index values per state and county."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.measure import compute_indices, write_indices_csv

log_to(snakemake.log[0])
tracts = gpd.read_parquet(snakemake.input.tracts)
indices = compute_indices(
    tracts,
    groups=snakemake.params.groups,
    reference_group=snakemake.params.reference_group,
    unit_level=snakemake.params.unit_level,
)
write_indices_csv(indices, snakemake.output.indices)
