"""Snakemake script: siting metrics -> each program's share of units by tract condition."""

import pandas as pd

from housing_segregation.figures import siting_shares_chart
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure
from housing_segregation.subsidized import charted_programs

log_to(snakemake.log[0])
metrics = pd.read_csv(snakemake.input.metrics, dtype={"geography_id": str})
figure = siting_shares_chart(
    metrics,
    programs=charted_programs(metrics["program"].unique()),
    source=snakemake.params.source,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
