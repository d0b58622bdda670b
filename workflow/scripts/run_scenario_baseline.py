"""Snakemake script: a state-year's tables -> the baseline's outcomes, point and draws, which
every scenario of the state-year is compared with."""

from housing_segregation.logs import log_to
from housing_segregation.scenario_run import prepare_configured, read_stage_inputs, save_measured

log_to(snakemake.log[0])
run = prepare_configured(
    read_stage_inputs(dict(snakemake.input.items())),
    snakemake.params.settings,
    draws=snakemake.params.draws,
)
save_measured(run.baseline(), snakemake.output.baseline)
