"""Snakemake script: a finished results version -> MANIFEST.sha256 of its outputs."""

from pathlib import Path

from housing_segregation.logs import log_to
from housing_segregation.provenance import write_manifest

log_to(snakemake.log[0])
write_manifest(Path(snakemake.output.manifest).parent, snakemake.output.manifest)
