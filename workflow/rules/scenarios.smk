# Policy scenarios: each scenario of config/scenarios.yaml moves or adds households and
# units; baseline and scenario are measured on the same draws, and Δ reported with intervals.


rule scenario_baseline:
    input:
        unpack(scenario_optional_inputs),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
        counterfactual=f"{RESULTS}/data/siting_counterfactual_{{state}}_{{year}}.csv",
    output:
        baseline=temp(f"{RESULTS}/scratch/scenario_baseline_{{state}}_{{year}}.npz"),
    log:
        f"{RESULTS}/logs/scenario_baseline_{{state}}_{{year}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/scenario_baseline_{{state}}_{{year}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    params:
        settings=scenario_settings,
        draws=scenario_draws,
    script:
        "../scripts/run_scenario_baseline.py"


rule scenario:
    input:
        unpack(scenario_optional_inputs),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
        counterfactual=f"{RESULTS}/data/siting_counterfactual_{{state}}_{{year}}.csv",
        baseline=f"{RESULTS}/scratch/scenario_baseline_{{state}}_{{year}}.npz",
    output:
        scenarios=f"{RESULTS}/data/scenarios/scenarios_{{state}}_{{year}}_{{scenario}}.csv",
        tests=f"{RESULTS}/data/scenarios/tests_{{state}}_{{year}}_{{scenario}}.csv",
        allocation=f"{RESULTS}/data/scenarios/allocation_{{state}}_{{year}}_{{scenario}}.csv",
        tracts=f"{RESULTS}/data/scenarios/tracts_{{state}}_{{year}}_{{scenario}}.csv",
    log:
        f"{RESULTS}/logs/scenario_{{state}}_{{year}}_{{scenario}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/scenario_{{state}}_{{year}}_{{scenario}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    params:
        steps=scenario_steps,
        settings=scenario_settings,
        draws=scenario_draws,
    script:
        "../scripts/run_scenario.py"


rule scenario_sweep:
    input:
        unpack(scenario_optional_inputs),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
        counterfactual=f"{RESULTS}/data/siting_counterfactual_{{state}}_{{year}}.csv",
    output:
        sweep=f"{RESULTS}/data/scenarios/sweep_{{state}}_{{year}}_{{sweep}}.csv",
    log:
        f"{RESULTS}/logs/scenario_sweep_{{state}}_{{year}}_{{sweep}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/scenario_sweep_{{state}}_{{year}}_{{sweep}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    params:
        sweep=sweep_definition,
        steps=sweep_steps,
        settings=scenario_settings,
        draws=sweep_draws,
    script:
        "../scripts/run_scenario_sweep.py"


rule collect_scenarios:
    input:
        unpack(scenario_parts),
    output:
        tables=report(
            scenario_tables(),
            caption="../report/scenario_tables.rst",
            category="Scenarios",
            subcategory="Tables",
        ),
    log:
        f"{RESULTS}/logs/collect_scenarios.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_scenarios.py"
