"""Snakemake script: raw ACS table and boundaries -> tidy tract GeoParquet."""

from housing_segregation.logs import log_to
from housing_segregation.tracts import build_tract_table

log_to(snakemake.log[0])
tracts = build_tract_table(
    year=int(snakemake.wildcards.year),
    state=snakemake.wildcards.state,
    acs_path=snakemake.input.acs,
    tract_boundaries_path=snakemake.input.tract_boundaries,
    town_boundaries_path=snakemake.input.town_boundaries,
    crs=snakemake.params.crs,
    crosswalk_path=snakemake.input.get("crosswalk"),
    crosswalk_spec=snakemake.params.crosswalk,
)
tracts.to_parquet(snakemake.output.tracts, index=False)
