"""Snakemake script: tracts, R/ECAPs and units per tract -> the siting metrics of every area."""

import geopandas as gpd
import pandas as pd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import siting_tables

log_to(snakemake.log[0])
town_shares = (
    pd.read_csv(snakemake.input.town_shares, dtype={"town_geoid": str})
    if hasattr(snakemake.input, "town_shares")
    else None
)
metrics = siting_tables(
    gpd.read_parquet(snakemake.input.tracts),
    gpd.read_parquet(snakemake.input.recaps),
    gpd.read_parquet(snakemake.input.by_tract),
    town_shares,
)
metrics.to_csv(snakemake.output.metrics, index=False, float_format="%.10g", lineterminator="\n")
