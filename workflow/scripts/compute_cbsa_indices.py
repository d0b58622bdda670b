"""Snakemake script: the unit tables of a CBSA's states -> its indices, with their coverage."""

import geopandas as gpd
from threadpoolctl import threadpool_limits

from housing_segregation.cross_state import cbsa_indices
from housing_segregation.logs import log_to
from housing_segregation.measure import write_indices_csv

log_to(snakemake.log[0])
tables = [gpd.read_parquet(path) for path in snakemake.input.units]
uncertainty = snakemake.params.uncertainty
# One BLAS thread, as in compute_indices.py.
with threadpool_limits(limits=1):
    indices = cbsa_indices(
        tables,
        cbsa_geoid=snakemake.wildcards.cbsa,
        spanned=snakemake.params.spanned,
        used=snakemake.params.used,
        groups=snakemake.params.groups,
        reference_group=snakemake.params.reference_group,
        unit_level=snakemake.params.unit_level,
        minimum_units=snakemake.params.minimum_units,
        draws=uncertainty["draws"],
        interval_level=uncertainty["level"],
        seed=snakemake.params.seed,
        radii=snakemake.params.radii,
        inference=snakemake.params.inference,
        threads=snakemake.threads,
    )
write_indices_csv(indices, snakemake.output.indices)
