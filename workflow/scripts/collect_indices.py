"""Snakemake script: per state-year index tables -> tables/indices.csv."""

from housing_segregation.logs import log_to
from housing_segregation.measure import combine_indices, read_indices_csv, write_indices_csv

log_to(snakemake.log[0])
combined = combine_indices([read_indices_csv(path) for path in snakemake.input.indices])
write_indices_csv(combined, snakemake.output.table)
