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
    minimum_units=snakemake.params.minimum_units,
    draws=snakemake.params.uncertainty["draws"],
    interval_level=snakemake.params.uncertainty["level"],
    # Each state-year draws its own reproducible stream, whatever order jobs run in.
    seed=[
        snakemake.params.uncertainty["seed"],
        int(snakemake.wildcards.year),
        int(snakemake.wildcards.state),
    ],
)
write_indices_csv(indices, snakemake.output.indices)
