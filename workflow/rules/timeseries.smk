# Change over time on one geography: older years' counts carried onto the latest year's
# tracts, their indices beside every year's own, in tables/indices_timeseries.csv.
# The shares come from the Census tract relationship file where the run has it (downloaded,
# or in the mirror), else from an overlay of the two years' tract boundaries; the log says
# which, and provenance.json lists the relationship file among the inputs when it is used.


rule harmonise_tracts:
    input:
        unpack(harmonise_relationships),
        source=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
        target=harmonise_target,
    output:
        tracts=f"{RESULTS}/data/harmonised/tracts_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/harmonise_tracts_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/harmonise_tracts.py"


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
