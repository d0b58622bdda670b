"""Snakemake script: the provenance record of this results version."""

from housing_segregation.logs import log_to
from housing_segregation.provenance import build_provenance, input_records, write_json

log_to(snakemake.log[0])
raw_inputs = dict(zip(snakemake.params.layout_paths, snakemake.input.raw, strict=True))
provenance = build_provenance(
    version=snakemake.params.version,
    config=snakemake.params.config,
    inputs=input_records(
        raw_inputs, from_mirror=snakemake.params.from_mirror, placed=snakemake.params.placed
    ),
    workflow_root=snakemake.params.workflow_root,
)
write_json(provenance, snakemake.output.provenance)
