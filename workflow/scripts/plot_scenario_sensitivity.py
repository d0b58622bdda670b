"""Snakemake script: a state-year's sweep tables -> sensitivity curves."""

import pandas as pd

from housing_segregation.logs import log_to
from housing_segregation.scenario_figures import sensitivity_chart
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
sweeps = pd.concat(
    [pd.read_csv(path, dtype={"geography_id": str}) for path in snakemake.input.parts],
    ignore_index=True,
)
settings = snakemake.params.settings
figure = sensitivity_chart(
    sweeps,
    groups=settings["groups"],
    reference_group=settings["reference_group"],
    state_name=pd.read_parquet(snakemake.input.tracts, columns=["state_name"]).iloc[0, 0],
    year=int(snakemake.wildcards.year),
    source=snakemake.params.source,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
