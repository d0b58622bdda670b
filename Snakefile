# Housing segregation pipeline: ACS and boundaries -> tidy tracts -> indices -> figures;
# state and HUD subsidized-housing data -> siting metrics and model; policy scenarios.
# Table of contents only; see workflow/rules/ for the stages.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/acquire.smk"
include: "workflow/rules/normalise.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/timeseries.smk"
include: "workflow/rules/subsidized.smk"
include: "workflow/rules/scenarios.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/factsheet.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


onsuccess:
    point_latest_at(VERSION, final_outputs())
