"""Snakemake script: a state-year's scenario tract tables -> R/ECAP changes per scenario."""

import geopandas as gpd
import pandas as pd

from housing_segregation.logs import log_to
from housing_segregation.scenario_figures import recap_change_map
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
changes = pd.concat(
    [pd.read_csv(path, dtype={"geoid": str}) for path in snakemake.input.changes],
    ignore_index=True,
)
table = pd.concat(
    [pd.read_csv(path, dtype={"geography_id": str}) for path in snakemake.input.scenarios],
    ignore_index=True,
)
figure = recap_change_map(
    gpd.read_parquet(snakemake.input.tracts),
    changes,
    table,
    descriptions=snakemake.params.descriptions,
    source=snakemake.params.source,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
