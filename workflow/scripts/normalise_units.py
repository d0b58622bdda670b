"""Snakemake script: raw ACS table and boundaries -> tidy GeoParquet of tracts or block
groups."""

from housing_segregation.logs import log_to
from housing_segregation.tracts import build_unit_table

log_to(snakemake.log[0])
units = build_unit_table(
    year=int(snakemake.wildcards.year),
    state=snakemake.wildcards.state,
    unit=snakemake.params.unit_level,
    acs_path=snakemake.input.acs,
    unit_boundaries_path=snakemake.input.unit_boundaries,
    town_boundaries_path=snakemake.input.town_boundaries,
    crs=snakemake.params.crs,
    crosswalk_path=snakemake.input.get("crosswalk"),
    crosswalk_spec=snakemake.params.crosswalk,
    cbsa_delineation_path=snakemake.input.cbsa_delineation,
    cbsa_delineation_vintage=snakemake.params.cbsa_delineation_vintage,
    run_states=snakemake.params.run_states,
    planning_regions_path=snakemake.input.get("planning_regions"),
    planning_regions_spec=snakemake.params.planning_regions,
)
units.to_parquet(snakemake.output.table, index=False)
