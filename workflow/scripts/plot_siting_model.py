"""Snakemake script: siting-model coefficients -> rate ratios of the race and poverty terms."""

import pandas as pd

from housing_segregation.figures import rate_ratio_chart
from housing_segregation.logs import log_to
from housing_segregation.style import save_figure
from housing_segregation.subsidized import MODELLED_PROGRAMS, PLOTTED_TERMS, PROGRAMS

log_to(snakemake.log[0])
figure = rate_ratio_chart(
    pd.read_csv(snakemake.input.coefficients),
    terms=PLOTTED_TERMS,
    programs={program: PROGRAMS[program] for program in MODELLED_PROGRAMS},
    source=snakemake.params.source,
    analysis_version=snakemake.params.analysis_version,
)
save_figure(figure, snakemake.output.figure)
