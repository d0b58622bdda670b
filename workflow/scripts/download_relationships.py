"""Snakemake script: download the Census 2020-to-2010 relationship file of tracts or block
groups (pipe-delimited), unchanged."""

from housing_segregation.download import (
    fetch,
    relationship_url,
    relationship_validator,
    retry_options,
    write_record,
)
from housing_segregation.logs import log_to
from housing_segregation.units import unit_level

log_to(snakemake.log[0])
settings = snakemake.config["download"]
unit = unit_level(snakemake.params.unit_level)
record = fetch(
    relationship_url(2010, 2020, unit, base_url=settings["relationship_files_base"]),
    snakemake.output.table,
    validate=relationship_validator(unit),
    **retry_options(settings),
)
write_record(record, snakemake.output.record)
