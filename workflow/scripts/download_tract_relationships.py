"""Snakemake script: download the Census 2020-to-2010 tract relationship file
(pipe-delimited), unchanged."""

from housing_segregation.download import (
    fetch,
    retry_options,
    tract_relationship_url,
    validate_tract_relationships,
    write_record,
)
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
settings = snakemake.config["download"]
record = fetch(
    tract_relationship_url(2010, 2020, base_url=settings["relationship_files_base"]),
    snakemake.output.table,
    validate=validate_tract_relationships,
    **retry_options(settings),
)
write_record(record, snakemake.output.record)
