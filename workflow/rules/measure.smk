# Tidy tracts -> segregation indices per geography, gathered into tables/indices.csv.


# variant: "" for each year's own tracts, "harmonised/" for an older year's counts carried
# onto the latest year's tracts (timeseries.smk).
rule compute_indices:
    input:
        tracts=f"{RESULTS}/data/{{variant}}tracts_{{state}}_{{year}}.parquet",
    output:
        indices=f"{RESULTS}/data/{{variant}}indices_{{state}}_{{year}}.csv",
    log:
        f"{RESULTS}/logs/{{variant}}compute_indices_{{state}}_{{year}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{variant}}compute_indices_{{state}}_{{year}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: measurement_threads
    params:
        groups=focal_groups,
        reference_group=reference_group,
        unit_level=unit_level,
        minimum_units=minimum_units,
        uncertainty=uncertainty_settings,
        radii=spatial_radii,
        inference=inference_settings,
    script:
        "../scripts/compute_indices.py"


rule collect_indices:
    input:
        indices=[
            f"{RESULTS}/data/indices_{state}_{year}.csv"
            for state, year in state_years()
        ],
    output:
        table=report(
            f"{RESULTS}/tables/indices.csv",
            caption="../report/indices.rst",
            category="Measurement",
            subcategory="Tables",
        ),
    log:
        f"{RESULTS}/logs/collect_indices.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/collect_indices.py"


rule flag_recaps:
    input:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/flag_recaps_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        thresholds=recap_thresholds,
    script:
        "../scripts/flag_recaps.py"
