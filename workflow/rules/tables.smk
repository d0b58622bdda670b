# The tables' data dictionaries (<table>.schema.json, each table checked against it) and
# Markdown renderings of the headline tables, beside the tables they describe.


rule table_schemas:
    input:
        tables=schema_tables(),
    output:
        schemas=report(
            table_schema_files(),
            caption="../report/table_schemas.rst",
            category="Provenance",
            subcategory="Data dictionaries",
        ),
    log:
        f"{RESULTS}/logs/table_schemas.log",
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/write_table_schemas.py"


rule headline_tables:
    input:
        tables=headline_sources(),
        # Rendered only from tables that passed their schema check.
        checked=table_schema_files(),
    output:
        markdown=report(
            headline_files(),
            caption="../report/headline_tables.rst",
            category="Headline tables",
        ),
    log:
        f"{RESULTS}/logs/headline_tables.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        uncertainty=uncertainty_settings,
        groups=focal_groups,
    script:
        "../scripts/render_headline_tables.py"
