"""Snakemake script: download the national CBSA delineation workbook, keep one state's rows."""

from functools import partial

from housing_segregation.download import fetch, retry_options, write_record
from housing_segregation.logs import log_to
from housing_segregation.regions import state_delineation_csv, validate_workbook

log_to(snakemake.log[0])
record = fetch(
    snakemake.params.url,
    snakemake.output.table,
    validate=validate_workbook,
    transform=partial(state_delineation_csv, state=snakemake.wildcards.state),
    **retry_options(snakemake.config["download"]),
)
write_record(record, snakemake.output.record)
