"""Snakemake script: the provenance record of this results version."""

from pathlib import Path

from housing_segregation.logs import log_to
from housing_segregation.paths import download_record_path
from housing_segregation.provenance import build_provenance, input_record, write_json

log_to(snakemake.log[0])
from_mirror = snakemake.params.from_mirror
inputs = [
    input_record(
        layout_path,
        local_path,
        from_mirror=from_mirror,
        download_record=None if from_mirror else Path(download_record_path(layout_path)),
    )
    for layout_path, local_path in zip(
        snakemake.params.layout_paths, snakemake.input.raw, strict=True
    )
]
provenance = build_provenance(
    version=snakemake.params.version,
    config=snakemake.params.config,
    inputs=inputs,
    workflow_root=snakemake.params.workflow_root,
)
write_json(provenance, snakemake.output.provenance)
