# The fact sheet: a state's key numbers, a map and one chart per step of the agenda.


rule factsheet_pdf:
    input:
        unpack(factsheet_inputs),
    output:
        factsheet=report(
            f"{RESULTS}/figures/factsheet_{{state}}_{{year}}.pdf",
            caption="../report/factsheet.rst",
            category="Fact sheet",
            subcategory=figure_subcategory,
        ),
    log:
        f"{RESULTS}/logs/factsheet_{{state}}_{{year}}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        reference_group=reference_group,
        scenario_steps=scenario_step_kinds,
        draws=scenario_draws,
        source=factsheet_source_line,
        analysis_version=analysis_version,
    script:
        "../scripts/write_factsheet.py"


rule factsheet:
    input:
        factsheets(),
