"""Snakemake script: download one state's ACS tract table from the Census Data API."""

from housing_segregation.acs import api_variables
from housing_segregation.download import fetch_acs_table, write_record
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
record = fetch_acs_table(
    int(snakemake.wildcards.year),
    snakemake.wildcards.state,
    api_variables(),
    snakemake.output.table,
    base_url=snakemake.params.base_url,
    **snakemake.params.retry,
)
write_record(record, snakemake.output.record)
