"""Snakemake script: index table -> chart of dissimilarity by county and group."""

from housing_segregation.figures import dissimilarity_chart
from housing_segregation.logs import log_to
from housing_segregation.measure import read_indices_csv
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
figure = dissimilarity_chart(
    read_indices_csv(snakemake.input.indices),
    groups=snakemake.params.groups,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
