"""Snakemake script: download a published tract GEOID crosswalk (CSV)."""

from housing_segregation.download import fetch, retry_options, validate_csv, write_record
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
record = fetch(
    snakemake.params.url,
    snakemake.output.table,
    validate=validate_csv,
    **retry_options(snakemake.config["download"]),
)
write_record(record, snakemake.output.record)
