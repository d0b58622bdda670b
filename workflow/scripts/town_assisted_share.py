"""Snakemake script: a state's yearly town lists (CGS 8-30g) -> one tidy town table."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import town_assisted_share

log_to(snakemake.log[0])
files = {
    name.removeprefix("town_list_"): path
    for name, path in snakemake.input.items()
    if name.startswith("town_list_")
}
table = town_assisted_share(files, gpd.read_parquet(snakemake.input.tracts))
table.to_csv(snakemake.output.table, index=False, lineterminator="\n")
