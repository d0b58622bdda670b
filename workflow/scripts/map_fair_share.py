"""Snakemake script: one scenario's town allocation -> a town map of its new units."""

import pandas as pd

from housing_segregation.geography import read_boundaries
from housing_segregation.logs import log_to
from housing_segregation.scenario_figures import allocation_map
from housing_segregation.style import save_figure
from housing_segregation.subsidized import towns_for_map

log_to(snakemake.log[0])
allocation = pd.read_csv(snakemake.input.allocation, dtype={"town_geoid": str, "region_geoid": str})
towns = towns_for_map(
    allocation,
    read_boundaries(snakemake.input.town_boundaries, "cousub"),
    list_year=int(snakemake.wildcards.year),
)
figure = allocation_map(
    towns,
    scenario=snakemake.wildcards.scenario,
    description=snakemake.params.description,
    source=snakemake.params.source,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
