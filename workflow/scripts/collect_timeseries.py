"""Snakemake script: every year's indices, native and harmonised -> indices_timeseries.csv."""

from housing_segregation.harmonise import TIMESERIES_COLUMNS, timeseries_table
from housing_segregation.logs import log_to
from housing_segregation.measure import (
    INDEX_COLUMNS,
    combine_indices,
    read_indices_csv,
    write_indices_csv,
)


def gathered(paths):
    """The parts (each state-year's, each cross-state CBSA's) as one table in indices.csv's
    order, so the native rows restate indices.csv row for row."""
    return [combine_indices([read_indices_csv(path) for path in paths])] if paths else []


log_to(snakemake.log[0])
table = timeseries_table(
    gathered(snakemake.input.native),
    gathered(snakemake.input.harmonised),
    {int(year): decade for year, decade in snakemake.params.decades.items()},
)
write_indices_csv(table, snakemake.output.table, [*INDEX_COLUMNS, *TIMESERIES_COLUMNS])
