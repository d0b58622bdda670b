# Subsidized housing: state project inventories and town lists -> units per tract, siting
# metrics and the siting model, for each state with an inventory and the latest ACS year.


rule town_assisted_share:
    input:
        unpack(town_list_inputs),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        table=f"{RESULTS}/data/town_assisted_share_{{state}}_{{year}}.csv",
    log:
        f"{RESULTS}/logs/town_assisted_share_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/town_assisted_share.py"


rule subsidized_by_tract:
    input:
        inventory=inventory_input,
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
        projects=f"{RESULTS}/data/assisted_projects_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/subsidized_by_tract_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/subsidized_by_tract.py"


rule hud_by_tract:
    input:
        unpack(hud_tract_inputs),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        table=f"{RESULTS}/data/hud_by_tract_{{state}}_{{year}}.csv",
    log:
        f"{RESULTS}/logs/hud_by_tract_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        settings=hud_settings,
    script:
        "../scripts/hud_by_tract.py"


rule siting_metrics:
    input:
        unpack(town_share_input),
        unpack(hud_table_input),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
        projects=f"{RESULTS}/data/assisted_projects_{{state}}_{{year}}.parquet",
    output:
        metrics=f"{RESULTS}/data/siting_metrics_{{state}}_{{year}}.csv",
        sensitivity=f"{RESULTS}/data/siting_sensitivity_{{state}}_{{year}}.csv",
    log:
        f"{RESULTS}/logs/siting_metrics_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/siting_metrics.py"


rule siting_model:
    input:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        by_tract=f"{RESULTS}/data/subsidized_by_tract_{{state}}_{{year}}.parquet",
    output:
        coefficients=f"{RESULTS}/data/siting_model_{{state}}_{{year}}.csv",
        fit=f"{RESULTS}/data/siting_model_fit_{{state}}_{{year}}.csv",
        counterfactual=f"{RESULTS}/data/siting_counterfactual_{{state}}_{{year}}.csv",
        summary=f"{RESULTS}/data/siting_model_summary_{{state}}_{{year}}.txt",
    log:
        f"{RESULTS}/logs/siting_model_{{state}}_{{year}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/siting_model_{{state}}_{{year}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    params:
        settings=siting_model_settings,
    script:
        "../scripts/siting_model.py"


rule collect_subsidized:
    input:
        unpack(subsidized_parts),
    output:
        tables=report(
            subsidized_tables(),
            caption="../report/subsidized_tables.rst",
            category="Subsidized housing",
            subcategory="Tables",
        ),
    log:
        f"{RESULTS}/logs/collect_subsidized.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_subsidized.py"
