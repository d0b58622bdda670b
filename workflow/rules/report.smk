# Figures and the provenance record of the results version.


rule map_nonwhite_share:
    input:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        figure=f"{RESULTS}/figures/nonwhite_share_{{state}}_{{year}}.png",
    log:
        f"{RESULTS}/logs/map_nonwhite_share_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        boundary_file=tract_boundary_name,
        analysis_version=analysis_version,
    script:
        "../scripts/map_nonwhite_share.py"


rule plot_dissimilarity:
    input:
        indices=f"{RESULTS}/data/indices_{{state}}_{{year}}.csv",
    output:
        figure=f"{RESULTS}/figures/dissimilarity_{{state}}_{{year}}.png",
    log:
        f"{RESULTS}/logs/plot_dissimilarity_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        groups=focal_groups,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_dissimilarity.py"


rule plot_multiscalar_profile:
    input:
        indices=f"{RESULTS}/data/indices_{{state}}_{{year}}.csv",
    output:
        figure=f"{RESULTS}/figures/multiscalar_profile_{{state}}_{{year}}.png",
    log:
        f"{RESULTS}/logs/plot_multiscalar_profile_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        groups=focal_groups,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_multiscalar_profile.py"


rule map_recaps:
    input:
        recaps=f"{RESULTS}/data/recaps_{{state}}_{{year}}.parquet",
    output:
        figure=f"{RESULTS}/figures/recaps_{{state}}_{{year}}.png",
    log:
        f"{RESULTS}/logs/map_recaps_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        delineation=delineation_vintage,
        analysis_version=analysis_version,
    script:
        "../scripts/map_recaps.py"


rule record_provenance:
    input:
        raw=list(raw_inputs_used().values()),
        download_records=download_records_used(),
        outputs=[f"{RESULTS}/tables/indices.csv"],
    output:
        provenance=f"{RESULTS}/provenance.json",
    log:
        f"{RESULTS}/logs/record_provenance.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        layout_paths=list(raw_inputs_used()),
        from_mirror=bool(MIRROR),
        version=VERSION,
        config=resolved_config,
        workflow_root=str(WORKFLOW_ROOT),
    script:
        "../scripts/record_provenance.py"
