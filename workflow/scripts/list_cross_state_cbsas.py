"""Snakemake script: the run's states' CBSA delineations -> the CBSAs crossing state lines."""

from housing_segregation.cross_state import cross_state_cbsas, write_cross_state_cbsas
from housing_segregation.logs import log_to

log = log_to(snakemake.log[0])
listing = cross_state_cbsas(
    zip(snakemake.params.vintages, snakemake.input.delineations, strict=True)
)
log.info("%d cross-state CBSA(s) by delineation vintage", len(listing))
write_cross_state_cbsas(listing, snakemake.output.table)
