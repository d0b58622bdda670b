"""Snakemake script: tidy tracts -> map of the non-white share by tract."""

import geopandas as gpd

from housing_segregation.figures import nonwhite_share_map
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
figure = nonwhite_share_map(
    gpd.read_parquet(snakemake.input.tracts),
    boundary_file=snakemake.params.boundary_file,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
