"""Snakemake script: download a Census cartographic boundary file (zip shapefile)."""

from housing_segregation.download import (
    cartographic_boundary_url,
    fetch,
    validate_zip,
    write_record,
)
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
record = fetch(
    cartographic_boundary_url(
        int(snakemake.wildcards.vintage),
        snakemake.wildcards.state,
        snakemake.wildcards.layer,
        base_url=snakemake.params.base_url,
    ),
    snakemake.output.archive,
    validate=validate_zip,
    **snakemake.params.retry,
)
write_record(record, snakemake.output.record)
