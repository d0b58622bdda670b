"""Snakemake script: the version's tables -> their data dictionaries (<table>.schema.json),
each table checked against its schema first."""

from housing_segregation.logs import log_to
from housing_segregation.table_schemas import write_schemas

log_to(snakemake.log[0])
write_schemas(list(snakemake.input.tables), list(snakemake.output.schemas))
