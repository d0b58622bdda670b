"""Snakemake script: a state-year's tables and one sweep -> the scenario's Δ per value."""

from housing_segregation.logs import log_to
from housing_segregation.scenario_run import (
    prepare_configured,
    read_stage_inputs,
    run_sweep,
    write_table,
)

log_to(snakemake.log[0])
run = prepare_configured(
    read_stage_inputs(dict(snakemake.input.items())),
    snakemake.params.settings,
    draws=snakemake.params.draws,
)
write_table(run_sweep(snakemake.params.sweep, snakemake.params.steps, run), snakemake.output.sweep)
