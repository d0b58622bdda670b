"""Snakemake script: every year's indices, native and harmonised -> indices_timeseries.csv."""

from housing_segregation.harmonise import TIMESERIES_COLUMNS, timeseries_table
from housing_segregation.logs import log_to
from housing_segregation.measure import INDEX_COLUMNS, read_indices_csv, write_indices_csv

log_to(snakemake.log[0])
table = timeseries_table(
    [read_indices_csv(path) for path in snakemake.input.native],
    [read_indices_csv(path) for path in snakemake.input.harmonised],
    {int(year): decade for year, decade in snakemake.params.decades.items()},
)
write_indices_csv(table, snakemake.output.table, [*INDEX_COLUMNS, *TIMESERIES_COLUMNS])
