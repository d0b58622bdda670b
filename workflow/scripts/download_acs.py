"""Snakemake script: download one state's ACS table of tracts or block groups from the Census
Data API."""

from housing_segregation.download import fetch_acs_table, retry_options, write_record
from housing_segregation.logs import log_to
from housing_segregation.units import unit_level

log_to(snakemake.log[0])
settings = snakemake.config["download"]
record = fetch_acs_table(
    int(snakemake.wildcards.year),
    snakemake.wildcards.state,
    snakemake.params.variables,
    snakemake.output.table,
    unit=unit_level(snakemake.wildcards.unit_level),
    base_url=settings["census_api_base"],
    **retry_options(settings),
)
write_record(record, snakemake.output.record)
