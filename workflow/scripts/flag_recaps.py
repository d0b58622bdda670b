"""Snakemake script: tidy tracts -> tract GeoParquet with HUD R/ECAP flags and local indices
(the CBSA means of cross-state CBSAs over the other states' tract tables at hand)."""

import geopandas as gpd
import pandas as pd

from housing_segregation.cross_state import cbsa_spans, read_cross_state_cbsas
from housing_segregation.logs import log_to
from housing_segregation.recap import OTHER_STATE_COLUMNS, cbsa_rates_elsewhere, recap_table

log_to(snakemake.log[0])
tracts = gpd.read_parquet(snakemake.input.tracts)
spans = cbsa_spans(read_cross_state_cbsas(snakemake.input.listing), snakemake.params.vintage)
others = [pd.read_parquet(path, columns=OTHER_STATE_COLUMNS) for path in snakemake.input.elsewhere]
elsewhere = cbsa_rates_elsewhere(tracts, others, spans)
recaps = recap_table(tracts, snakemake.params.thresholds, elsewhere)
recaps.to_parquet(snakemake.output.recaps, index=False)
