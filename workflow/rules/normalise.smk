# Raw ACS table + boundaries -> one tidy GeoParquet table per state and year of the run's
# units (config unit_level): `tracts_...`, and with block groups `block_groups_...` too
# (R/ECAPs, subsidized housing and the scenarios stay on tracts).


rule normalise_units:
    input:
        unpack(normalise_inputs),
    output:
        table=f"{RESULTS}/data/{{units}}_{{state}}_{{year}}.parquet",
    log:
        f"{RESULTS}/logs/normalise_{{units}}_{{state}}_{{year}}.log",
    wildcard_constraints:
        units=UNIT_TABLE_STEMS,
    conda:
        "../envs/pipeline.yaml"
    params:
        unit_level=unit_of_table,
        crs=crs,
        crosswalk=crosswalk_spec,
        cbsa_delineation_vintage=delineation_vintage,
        run_states=own_state,
        planning_regions=planning_region_spec,
    script:
        "../scripts/normalise_units.py"
