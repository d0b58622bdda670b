"""Snakemake script: download a state-published subsidized-housing file (CSV or workbook)."""

from housing_segregation.download import fetch, retry_options, validate_csv, write_record
from housing_segregation.logs import log_to
from housing_segregation.regions import validate_workbook

log_to(snakemake.log[0])
suffix = snakemake.output.data.rsplit(".", 1)[-1].lower()
record = fetch(
    snakemake.params.url,
    snakemake.output.data,
    validate=validate_workbook if suffix in {"xls", "xlsx"} else validate_csv,
    **retry_options(snakemake.config["download"]),
)
write_record(record, snakemake.output.record)
