"""Snakemake script: download one of HUD's files (PSH, vouchers, LIHTC, LIHTC geocodes)."""

from housing_segregation import hud
from housing_segregation.download import retry_options
from housing_segregation.logs import log_to

log_to(snakemake.log[0])
options = retry_options(snakemake.config["download"])
files = (snakemake.output.data, snakemake.output.record)
if snakemake.rule == "download_hud_psh":
    hud.download_psh(
        snakemake.params.year, "tract", *files, state=snakemake.params.state, **options
    )
elif snakemake.rule == "download_hud_vouchers":
    hud.download_hcv(snakemake.wildcards.state, *files, **options)
elif snakemake.rule == "download_hud_lihtc":
    hud.download_lihtc_database(*files, **options)
else:
    hud.download_lihtc_geocoding(snakemake.wildcards.state, *files, **options)
