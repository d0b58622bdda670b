"""Snakemake script: tidy tracts (or block groups) -> every index for every area, with Monte
Carlo intervals."""

import geopandas as gpd
import numpy as np
from threadpoolctl import threadpool_limits

from housing_segregation.config import state_year_seed
from housing_segregation.logs import log_to
from housing_segregation.measure import COMPLETE, compute_indices, with_coverage, write_indices_csv

log_to(snakemake.log[0])
units = gpd.read_parquet(snakemake.input.units)
centroids = units.geometry.centroid
# One BLAS thread: the dense proximity products run slower with idle threads competing.
with threadpool_limits(limits=1):
    indices = compute_indices(
        units,
        groups=snakemake.params.groups,
        reference_group=snakemake.params.reference_group,
        unit_level=snakemake.params.unit_level,
        minimum_units=snakemake.params.minimum_units,
        draws=snakemake.params.uncertainty["draws"],
        interval_level=snakemake.params.uncertainty["level"],
        seed=state_year_seed(
            snakemake.params.uncertainty["seed"],
            snakemake.wildcards.state,
            snakemake.wildcards.year,
        ),
        centroids=np.column_stack([centroids.x, centroids.y]),
        unit_areas=units.geometry.area.to_numpy(),
        radii=snakemake.params.radii,
        inference=snakemake.params.inference,
        threads=snakemake.threads,
    )
# A state's own areas are whole (CBSAs crossing its lines are measured by compute_cbsa_indices).
write_indices_csv(with_coverage(indices, COMPLETE), snakemake.output.indices)
