# Change over time on one geography: older years' counts carried onto the latest year's
# units (tracts, or block groups), their indices beside every year's own, in
# tables/indices_timeseries.csv. The shares come from the Census relationship file where
# the run has it (downloaded, or in the mirror), else from an overlay of the two years'
# boundaries; the log says which, and provenance.json lists the relationship file among
# the inputs when it is used.


rule harmonise_units:
    input:
        unpack(harmonise_relationships),
        source=unit_table("", "{state}", "{year}"),
        target=harmonise_target,
    output:
        table=unit_table("harmonised/", "{state}", "{year}"),
    log:
        f"{RESULTS}/logs/harmonise_{UNIT.table_stem}_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        unit_level=UNIT.name,
    script:
        "../scripts/harmonise_units.py"


rule collect_timeseries:
    input:
        unpack(timeseries_inputs),
    output:
        table=report(
            f"{RESULTS}/tables/indices_timeseries.csv",
            caption="../report/indices_timeseries.rst",
            category="Measurement",
            subcategory="Tables",
        ),
    log:
        f"{RESULTS}/logs/collect_timeseries.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        decades=decades,
    script:
        "../scripts/collect_timeseries.py"


rule plot_timeseries:
    input:
        series=f"{RESULTS}/tables/indices_timeseries.csv",
    output:
        figure=report(
            multiext(
                f"{RESULTS}/figures/dissimilarity_timeseries_{{state}}",
                ".png",
                ".svg",
                ".pdf",
            ),
            caption="../report/dissimilarity_timeseries.rst",
            category="Measurement",
            subcategory=series_subcategory,
        ),
    log:
        f"{RESULTS}/logs/plot_timeseries_{{state}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        groups=focal_groups,
        reference_group=reference_group,
        analysis_version=analysis_version,
    script:
        "../scripts/plot_timeseries.py"
