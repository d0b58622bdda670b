"""Snakemake script: download a Census cartographic boundary file (zip shapefile)."""

from housing_segregation.download import (
    cartographic_boundary_url,
    fetch,
    retry_options,
    validate_zip,
    write_record,
)
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
settings = snakemake.config["download"]
record = fetch(
    cartographic_boundary_url(
        int(snakemake.wildcards.vintage),
        snakemake.wildcards.state,
        snakemake.wildcards.layer,
        base_url=settings["boundaries_base"],
    ),
    snakemake.output.archive,
    validate=validate_zip,
    **retry_options(settings),
)
write_record(record, snakemake.output.record)
