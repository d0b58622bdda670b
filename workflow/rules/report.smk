# Figures, the provenance record and the manifest of the results version.


rule map_nonwhite_share:
    input:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/nonwhite_share_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/nonwhite_share.rst",
            category="Measurement",
            subcategory=figure_subcategory,
        ),
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
        figure=report(
            multiext(
                f"{RESULTS}/figures/dissimilarity_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/dissimilarity.rst",
            category="Measurement",
            subcategory=figure_subcategory,
        ),
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
        figure=report(
            multiext(
                f"{RESULTS}/figures/multiscalar_profile_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/multiscalar_profile.rst",
            category="Measurement",
            subcategory=figure_subcategory,
        ),
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
        figure=report(
            multiext(
                f"{RESULTS}/figures/recaps_{{state}}_{{year}}", ".png", ".svg", ".pdf"
            ),
            caption="../report/recaps.rst",
            category="Measurement",
            subcategory=figure_subcategory,
        ),
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
        # Functions: the raw inputs of other states that cross-state CBSAs read are known
        # once the checkpoint's list is (this job is planned again then).
        raw=provenance_raw_inputs,
        download_records=provenance_download_records,
        outputs=[
            f"{RESULTS}/tables/indices.csv",
            *subsidized_tables(),
            *scenario_tables(),
        ],
    output:
        provenance=report(
            f"{RESULTS}/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        f"{RESULTS}/logs/record_provenance.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        layout_paths=provenance_layout_paths,
        from_mirror=bool(MIRROR),
        placed=provenance_placed,
        version=VERSION,
        config=resolved_config,
        workflow_root=str(WORKFLOW_ROOT),
    script:
        "../scripts/record_provenance.py"


rule map_town_assisted_share:
    input:
        town_shares=latest_town_shares,
        town_boundaries=latest_town_boundaries,
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/town_assisted_share_{{state}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/town_assisted_share.rst",
            category="Subsidized housing",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/map_town_assisted_share_{{state}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        list_year=town_list_map_year,
        analysis_version=analysis_version,
    script:
        "../scripts/map_town_assisted_share.py"


rule plot_siting_shares:
    input:
        metrics=f"{RESULTS}/data/siting_metrics_{{state}}_{{year}}.csv",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/siting_shares_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/siting_shares.rst",
            category="Subsidized housing",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/plot_siting_shares_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        source=siting_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_siting_shares.py"


rule plot_siting_model:
    input:
        coefficients=f"{RESULTS}/data/siting_model_{{state}}_{{year}}.csv",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/siting_model_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/siting_model.rst",
            category="Subsidized housing",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/plot_siting_model_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        source=inventory_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_siting_model.py"


rule plot_scenario_deltas:
    input:
        parts=scenario_state_parts("scenarios"),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/scenario_deltas_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/scenario_deltas.rst",
            category="Scenarios",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/plot_scenario_deltas_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        descriptions=scenario_descriptions,
        settings=scenario_settings,
        draws=scenario_draws,
        source=siting_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_scenario_deltas.py"


rule map_fair_share:
    input:
        allocation=f"{RESULTS}/data/scenarios/allocation_{{state}}_{{year}}_{{scenario}}.csv",
        town_boundaries=latest_town_boundaries,
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/fair_share_{{state}}_{{year}}_{{scenario}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/fair_share.rst",
            category="Scenarios",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/map_fair_share_{{state}}_{{year}}_{{scenario}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        description=scenario_description,
        source=fair_share_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/map_fair_share.py"


rule map_recap_changes:
    input:
        changes=scenario_state_parts("tracts"),
        scenarios=scenario_state_parts("scenarios"),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/scenario_recaps_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/scenario_recaps.rst",
            category="Scenarios",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/map_recap_changes_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        descriptions=scenario_descriptions,
        source=siting_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/map_recap_changes.py"


rule plot_scenario_sensitivity:
    input:
        parts=scenario_state_parts("sweep"),
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/scenario_sensitivity_{{state}}_{{year}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/scenario_sensitivity.rst",
            category="Scenarios",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/plot_scenario_sensitivity_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        settings=scenario_settings,
        source=siting_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_scenario_sensitivity.py"


rule write_captions:
    input:
        figures=figure_files(version_outputs()),
    output:
        captions=f"{RESULTS}/figures/captions.md",
    log:
        f"{RESULTS}/logs/write_captions.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config=resolved_config,
        version=VERSION,
    script:
        "../scripts/write_captions.py"


rule write_manifest:
    input:
        version_outputs(),
    output:
        manifest=report(
            f"{RESULTS}/MANIFEST.sha256",
            caption="../report/manifest.rst",
            category="Provenance",
        ),
    log:
        f"{RESULTS}/logs/write_manifest.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/write_manifest.py"
