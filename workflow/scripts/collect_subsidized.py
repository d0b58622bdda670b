"""Snakemake script: every state's subsidized-stage parts -> the tables of the version."""

from housing_segregation.logs import log_to
from housing_segregation.subsidized import collect_tables

log_to(snakemake.log[0])
collect_tables(dict(snakemake.input.items()), list(snakemake.output.tables))
