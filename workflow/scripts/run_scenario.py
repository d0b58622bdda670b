"""Snakemake script: a state-year's tables, its baseline and one scenario -> Δ of every
outcome, the allocation and the tract changes."""

from housing_segregation.logs import log_to
from housing_segregation.scenario_run import (
    load_measured,
    prepare_configured,
    read_stage_inputs,
    write_table,
)

log_to(snakemake.log[0])
inputs = {k: v for k, v in snakemake.input.items() if k != "baseline"}
run = prepare_configured(
    read_stage_inputs(inputs), snakemake.params.settings, draws=snakemake.params.draws
)
result = run.scenario(
    snakemake.wildcards.scenario, snakemake.params.steps, load_measured(snakemake.input.baseline)
)
write_table(result.table, snakemake.output.scenarios)
write_table(result.tests, snakemake.output.tests)
write_table(result.allocation, snakemake.output.allocation)
write_table(result.tracts, snakemake.output.tracts)
