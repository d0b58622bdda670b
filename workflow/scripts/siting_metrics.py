"""Snakemake script: tracts, R/ECAPs, units per tract (and HUD's figures, when configured)
-> the siting metrics of every area, and their sensitivity to shared points."""

import geopandas as gpd
import pandas as pd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import shared_point_sensitivity, siting_tables

log_to(snakemake.log[0])
tracts = gpd.read_parquet(snakemake.input.tracts)
recaps = gpd.read_parquet(snakemake.input.recaps)
town_shares = (
    pd.read_csv(snakemake.input.town_shares, dtype={"town_geoid": str})
    if hasattr(snakemake.input, "town_shares")
    else None
)
hud_table = (
    pd.read_csv(snakemake.input.hud, dtype={"geoid": str})
    if hasattr(snakemake.input, "hud")
    else None
)
tables = {
    "metrics": siting_tables(
        tracts, recaps, gpd.read_parquet(snakemake.input.by_tract), town_shares, hud_table
    ),
    "sensitivity": shared_point_sensitivity(
        tracts, recaps, gpd.read_parquet(snakemake.input.projects)
    ),
}
for name, table in tables.items():
    table.to_csv(snakemake.output[name], index=False, float_format="%.10g", lineterminator="\n")
