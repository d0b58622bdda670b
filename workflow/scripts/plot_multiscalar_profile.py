"""Snakemake script: index table -> multiscalar profile of spatial dissimilarity."""

from housing_segregation.figures import multiscalar_profile_chart
from housing_segregation.logs import log_to
from housing_segregation.measure import read_indices_csv
from housing_segregation.style import save_figure

log_to(snakemake.log[0])
figure = multiscalar_profile_chart(
    read_indices_csv(snakemake.input.indices),
    groups=snakemake.params.groups,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
