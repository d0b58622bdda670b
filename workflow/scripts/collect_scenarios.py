"""Snakemake script: each state's and scenario's parts -> the version's scenario tables."""

from housing_segregation.logs import log_to
from housing_segregation.scenario_run import TABLE_PARTS
from housing_segregation.subsidized import collect_tables

log_to(snakemake.log[0])
collect_tables(dict(snakemake.input.items()), list(snakemake.output.tables), TABLE_PARTS)
