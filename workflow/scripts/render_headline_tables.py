"""Snakemake script: the version's tables -> Markdown renderings of the headline tables."""

from pathlib import Path

from housing_segregation.logs import log_to
from housing_segregation.table_markdown import write_headlines

log_to(snakemake.log[0])
write_headlines(
    {Path(path).name: path for path in snakemake.input.tables},
    list(snakemake.output.markdown),
    interval_level=snakemake.params.uncertainty["level"],
    groups=snakemake.params.groups,
)
