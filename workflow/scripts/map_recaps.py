"""Snakemake script: R/ECAP tract table -> map of R/ECAPs."""

import geopandas as gpd

from housing_segregation.figures import recap_map
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
figure = recap_map(
    gpd.read_parquet(snakemake.input.recaps),
    delineation=str(snakemake.params.delineation),
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
