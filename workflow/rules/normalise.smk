# Raw ACS table + boundaries -> one tidy GeoParquet tract table per state and year.


rule normalise_tracts:
    input:
        unpack(normalise_inputs),
    output:
        tracts=f"{RESULTS}/data/tracts_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/normalise_tracts_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        crs=crs,
        crosswalk=crosswalk_spec,
        cbsa_delineation_vintage=delineation_vintage,
        run_states=own_state,
        planning_regions=planning_region_spec,
    script:
        "../scripts/normalise_tracts.py"
