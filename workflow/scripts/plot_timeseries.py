"""Snakemake script: the time series table -> a state's dissimilarity over the years."""

from housing_segregation.figures import timeseries_chart
from housing_segregation.logs import log_to
from housing_segregation.measure import read_indices_csv
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
figure = timeseries_chart(
    read_indices_csv(snakemake.input.series),
    state=snakemake.wildcards.state,
    group=snakemake.params.groups[0],
    reference_group=snakemake.params.reference_group,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
