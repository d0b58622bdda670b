# Tidy tracts (or block groups) -> segregation indices per geography, gathered into
# tables/indices.csv.


# variant: "" for each year's own units, "harmonised/" for an older year's counts carried
# onto the latest year's units (timeseries.smk).
rule compute_indices:
    input:
        units=unit_table("{variant}", "{state}", "{year}"),
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
        unit_level=UNIT.name,
        minimum_units=minimum_units,
        uncertainty=uncertainty_settings,
        radii=spatial_radii,
        inference=inference_settings,
    script:
        "../scripts/compute_indices.py"


# A few lines of CSV: where `snakemake download` runs (a login node), so does this.
localrules:
    list_cross_state_cbsas,


# The CBSAs that cross state lines, read from the run's states' delineations. A checkpoint:
# which unit tables (of which states) the CBSA jobs read is known only once it has run.
checkpoint list_cross_state_cbsas:
    input:
        delineations=cross_state_delineation_files(),
    output:
        table=CROSS_STATE_LISTING,
    log:
        f"{RESULTS}/logs/list_cross_state_cbsas.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        vintages=cross_state_delineation_vintages,
    script:
        "../scripts/list_cross_state_cbsas.py"


# One CBSA that crosses state lines, in one year, from the unit tables of all its states
# (those at hand: `coverage` says partial where one is missing). Single-state CBSAs are
# measured by compute_indices, so no CBSA is measured twice.
rule compute_cbsa_indices:
    input:
        units=cbsa_unit_tables,
        listing=CROSS_STATE_LISTING,
    output:
        indices=f"{RESULTS}/data/{{variant}}cbsa_indices_{{cbsa}}_{{year}}.csv",
    log:
        f"{RESULTS}/logs/{{variant}}compute_cbsa_indices_{{cbsa}}_{{year}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{variant}}compute_cbsa_indices_{{cbsa}}_{{year}}.tsv"
    conda:
        "../envs/pipeline.yaml"
    threads: measurement_threads
    params:
        spanned=cbsa_spanned,
        used=cbsa_states_used,
        seed=cbsa_seed,
        groups=focal_groups,
        reference_group=reference_group,
        unit_level=UNIT.name,
        minimum_units=minimum_units,
        uncertainty=uncertainty_settings,
        radii=spatial_radii,
        inference=inference_settings,
    script:
        "../scripts/compute_cbsa_indices.py"


rule collect_indices:
    input:
        indices=indices_parts,
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


# HUD's threshold is over a CBSA's tracts in every state it spans: those of the other
# states (at hand) come in through `elsewhere`, and `cbsa_coverage` says if one is missing.
rule flag_recaps:
    input:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        elsewhere=recap_elsewhere_tables,
        listing=CROSS_STATE_LISTING,
    output:
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/flag_recaps_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        thresholds=recap_thresholds,
        vintage=recap_cbsa_vintage,
    script:
        "../scripts/flag_recaps.py"
