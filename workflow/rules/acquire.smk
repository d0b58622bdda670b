# Downloads into the raw cache (resources/), in the raw-input layout. With `mirror` set,
# no rule here is needed: inputs are read from the mirror instead.
#
# The scripts read config["download"] (retries, timeouts, base URLs) themselves rather than
# through params: how a file is fetched must not make Snakemake fetch it again.


# Downloads need the network, which cluster compute nodes often lack.
localrules:
    download,
    download_acs,
    download_boundaries,
    download_crosswalk,
    download_relationships,
    download_cbsa_delineation,
    download_state_source,
    download_hud_psh,
    download_hud_vouchers,
    download_hud_lihtc,
    download_hud_lihtc_geocodes,


# `snakemake download`: every raw input of the run, and nothing else (e.g. on a login node,
# before the computation runs offline on compute nodes).
rule download:
    input:
        download_targets,


rule download_acs:
    output:
        table=f"{RAW}/{paths.acs_layout('{year}', '{state}', '{unit_level}')}",
        record=str(
            paths.download_record_path(
                paths.acs_layout("{year}", "{state}", "{unit_level}")
            )
        ),
    log:
        "logs/download/acs5_{year}_{unit_level}_state{state}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        variables=acs_api_variables,
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
    script:
        "../scripts/download_crosswalk.py"


# The Census 2020-to-2010 relationship file (national) of the run's units, kept as
# published: the shares that carry 2010-tract (or block-group) counts onto 2020 ones for
# the time series.
rule download_relationships:
    output:
        table=f"{RAW}/{vintages.relationship_file(2010, 2020, UNIT.name).path}",
        record=str(
            paths.download_record_path(
                vintages.relationship_file(2010, 2020, UNIT.name).path
            )
        ),
    log:
        f"logs/download/{UNIT.name}_relationships_2020_2010.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        unit_level=UNIT.name,
    script:
        "../scripts/download_relationships.py"


rule download_cbsa_delineation:
    output:
        table=f"{RAW}/{paths.delineation_layout('{vintage}', '{state}')}",
        record=str(
            paths.download_record_path(
                paths.delineation_layout("{vintage}", "{state}")
            )
        ),
    log:
        "logs/download/cbsa_{vintage}_state{state}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        url=delineation_url,
    script:
        "../scripts/download_cbsa_delineation.py"


rule download_state_source:
    output:
        data=f"{RAW}/{{source_path}}",
        record=str(paths.download_record_path("{source_path}")),
    log:
        "logs/download/state_source_{source_path}.log",
    wildcard_constraints:
        source_path=state_source_pattern(),
    conda:
        "../envs/pipeline.yaml"
    params:
        url=state_source_url,
    script:
        "../scripts/download_state_source.py"


rule download_hud_psh:
    output:
        data=f"{RAW}/hud-psh/{{psh_file}}",
        record=str(paths.download_record_path("hud-psh/{psh_file}")),
    log:
        "logs/download/hud_psh_{psh_file}.log",
    wildcard_constraints:
        psh_file=hud_psh_pattern(),
    conda:
        "../envs/pipeline.yaml"
    params:
        year=hud_psh_year,
        state=hud_psh_state,
    script:
        "../scripts/download_hud.py"


rule download_hud_vouchers:
    output:
        data=f"{RAW}/{hud.hcv_layout('{vintage}', '{state}')}",
        record=str(paths.download_record_path(hud.hcv_layout("{vintage}", "{state}"))),
    log:
        "logs/download/hud_vouchers_{vintage}_{state}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/download_hud.py"


rule download_hud_lihtc:
    output:
        data=f"{RAW}/{hud.lihtc_layout('{vintage}')}",
        record=str(paths.download_record_path(hud.lihtc_layout("{vintage}"))),
    log:
        "logs/download/hud_lihtc_{vintage}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/download_hud.py"


rule download_hud_lihtc_geocodes:
    output:
        data=f"{RAW}/{hud.lihtc_geocoding_layout('{vintage}', '{state}')}",
        record=str(
            paths.download_record_path(
                hud.lihtc_geocoding_layout("{vintage}", "{state}")
            )
        ),
    log:
        "logs/download/hud_lihtc_geocodes_{vintage}_{state}.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/download_hud.py"
