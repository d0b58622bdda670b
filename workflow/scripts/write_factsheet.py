"""Snakemake script: a state's two-page fact sheet (PDF) from the version's tables."""

import geopandas as gpd
import pandas as pd

from housing_segregation.factsheet import FactsheetData, factsheet_pages, write_factsheet
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
given = snakemake.input.keys()
IDS = {"geography_id": str, "region_geoid": str, "town_geoid": str}


def optional_table(name):
    """The named input's rows (several files concatenated), or None if the run has none."""
    if name not in given:
        return None
    paths = snakemake.input[name]
    paths = [paths] if isinstance(paths, str) else list(paths)
    return pd.concat([pd.read_csv(path, dtype=IDS) for path in paths], ignore_index=True)


data = FactsheetData(
    tracts=gpd.read_parquet(snakemake.input.tracts),
    recaps=gpd.read_parquet(snakemake.input.recaps),
    indices=optional_table("indices"),
    reference_group=snakemake.params.reference_group,
    siting=optional_table("siting"),
    town_shares=optional_table("town_shares"),
    scenarios=optional_table("scenarios"),
    allocation=optional_table("allocation"),
    scenario_steps=snakemake.params.scenario_steps,
    draws=snakemake.params.draws,
)
pages = factsheet_pages(
    data, source=snakemake.params.source, analysis_version=snakemake.params.analysis_version
)
write_factsheet(pages, snakemake.output.factsheet)
