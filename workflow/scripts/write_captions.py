"""Snakemake script: the version's figures -> figures/captions.md (captions and alt text)."""

from housing_segregation.captions import write_captions
from housing_segregation.logs import log_to

log = log_to(snakemake.log[0])
write_captions(
    snakemake.input.figures,
    snakemake.output.captions,
    config=snakemake.params.config,
    version=snakemake.params.version,
)
log.info("captions of %d figures", len(snakemake.input.figures))
