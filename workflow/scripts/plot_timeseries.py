"""Snakemake script: the time series table -> a state's dissimilarity over the years."""

import pandas as pd

from housing_segregation.figures import timeseries_chart
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
series = pd.read_csv(
    snakemake.input.series,
    dtype={"geography_id": str, "reference_group": str},
    keep_default_na=False,
    na_values={column: [""] for column in ("value", "se", "ci_low", "ci_high")},
)
state = snakemake.wildcards.state
of_state = series[
    series["geography_level"].isin(["state", "planning_region", "county"])
    & series["geography_id"].str.startswith(state)
]
figure = timeseries_chart(
    of_state,
    group=snakemake.params.groups[0],
    reference_group=snakemake.params.reference_group,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
