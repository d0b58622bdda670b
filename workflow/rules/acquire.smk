# Downloads into the raw cache (resources/), in the raw-input layout. With `mirror` set,
# no rule here is needed: inputs are read from the mirror instead.


# Downloads need the network, which cluster compute nodes often lack.
localrules:
    download_acs,
    download_boundaries,
    download_crosswalk,


rule download_acs:
    output:
        table=f"{RAW}/{paths.acs_layout('{year}', '{state}')}",
        record=str(paths.download_record_path(paths.acs_layout("{year}", "{state}"))),
    log:
        "logs/download/acs5_{year}_tract_state{state}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        retry=retry_settings,
        base_url=census_api_base,
    script:
        "../scripts/download_acs.py"


rule download_boundaries:
    output:
        archive=f"{RAW}/{paths.boundary_layout('{vintage}', '{state}', '{layer}')}",
        record=str(
            paths.download_record_path(
                paths.boundary_layout("{vintage}", "{state}", "{layer}")
            )
        ),
    log:
        "logs/download/cb_{vintage}_{state}_{layer}_500k.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        retry=retry_settings,
        base_url=boundaries_base,
    script:
        "../scripts/download_boundaries.py"


rule download_crosswalk:
    output:
        table=f"{RAW}/crosswalks/{{filename}}",
        record=str(paths.download_record_path("crosswalks/{filename}")),
    log:
        "logs/download/crosswalk_{filename}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        url=crosswalk_url,
        retry=retry_settings,
    script:
        "../scripts/download_crosswalk.py"
