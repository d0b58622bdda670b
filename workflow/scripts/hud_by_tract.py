"""Snakemake script: HUD's configured files -> their figures for the run's tracts (tidy)."""

import geopandas as gpd

from housing_segregation.logs import log_to
from housing_segregation.subsidized import hud_by_tract

log_to(snakemake.log[0])
settings = snakemake.params.settings
sources = snakemake.input.keys()
table = hud_by_tract(
    gpd.read_parquet(snakemake.input.tracts),
    state=snakemake.wildcards.state,
    psh=(snakemake.input.psh, settings["psh_year"]) if "psh" in sources else None,
    vouchers=(
        (snakemake.input.vouchers, settings["voucher_vintage"]) if "vouchers" in sources else None
    ),
    lihtc=(
        (snakemake.input.lihtc, snakemake.input.lihtc_geocodes, settings["lihtc_vintage"])
        if "lihtc" in sources
        else None
    ),
)
table.to_csv(snakemake.output.table, index=False, float_format="%.10g", lineterminator="\n")
