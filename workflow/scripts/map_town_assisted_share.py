"""Snakemake script: the town table of the 8-30g lists -> a town map of one list year."""

import pandas as pd

from housing_segregation.figures import appeals_map
from housing_segregation.geography import read_boundaries
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure
from housing_segregation.subsidized import towns_for_map

log_to(snakemake.log[0])
towns = towns_for_map(
    pd.read_csv(snakemake.input.town_shares, dtype={"town_geoid": str}),
    read_boundaries(snakemake.input.town_boundaries, "cousub"),
    list_year=snakemake.params.list_year,
)
figure = appeals_map(
    towns, list_year=snakemake.params.list_year,
    analysis_version=snakemake.params.analysis_version,
)  # fmt: skip
save_figure(figure, snakemake.output.figure)
