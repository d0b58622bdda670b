"""CBSAs that cross state lines, measured once from all their states' tracts.

Each state's tract table measures the CBSAs that lie wholly inside the state. A CBSA that
reaches into other states (Worcester, MA-CT; New York-Newark-Jersey City, NY-NJ-PA; about a
hundred nationally) is measured apart, once per year, from the tracts of every state it spans
that the run can read: :func:`cross_state_cbsas` lists them from the delineations of the run's
states, :func:`cbsa_indices` measures one. Where a state is missing (a mirror without its
files, or ``cbsa_other_states: false``), the CBSA is measured from the tracts at hand and its
rows say ``coverage`` = ``partial``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .regions import STATE_ABBREVIATIONS, cbsa_states, read_cbsa_delineation

# The measurement engine (.measure) is imported where it is used: the workflow's input
# functions read the listing through this module at every Snakemake start, and the engine's
# imports would add seconds to each.

log = logging.getLogger(__name__)

#: Columns of the list of cross-state CBSAs (data/cross_state_cbsas.csv).
CROSS_STATE_COLUMNS = ["delineation", "cbsa_geoid", "cbsa_name", "states"]

#: State FIPS code of each USPS abbreviation of a CBSA title.
STATE_FIPS = {abbreviation: fips for fips, abbreviation in STATE_ABBREVIATIONS.items()}


def title_states(title: str) -> list[str]:
    """The state FIPS codes a CBSA title names, sorted: "Worcester, MA-CT" -> ["09", "25"].

    Raises ValueError naming the title if an abbreviation is not a state's."""
    unknown = [code for code in cbsa_states(title) if code not in STATE_FIPS]
    if unknown:
        raise ValueError(f"CBSA title {title!r}: unknown state abbreviation(s) {unknown}")
    return sorted(STATE_FIPS[code] for code in cbsa_states(title))


def cross_state_cbsas(delineations: Iterable[tuple[int, str | Path]]) -> pd.DataFrame:
    """The CBSAs of the given delineation files ((vintage, path) of the run's states, in the
    raw layout) that span more than one state, with every state they span (space-separated
    FIPS codes, from the title and the counties listed), one row per vintage and CBSA."""
    rows = []
    for vintage, path in delineations:
        table = read_cbsa_delineation(path)
        for (cbsa, name), counties in table.groupby(["cbsa_geoid", "cbsa_name"], sort=False):
            states = set(title_states(name)) | set(counties["county_geoid"].str[:2])
            if len(states) > 1:
                rows.append((int(vintage), cbsa, name, " ".join(sorted(states))))
    listing = pd.DataFrame(rows, columns=CROSS_STATE_COLUMNS).drop_duplicates()
    clash = listing.duplicated(["delineation", "cbsa_geoid"])
    if clash.any():
        cbsa = listing.loc[clash, "cbsa_geoid"].iloc[0]
        raise ValueError(f"CBSA {cbsa}: the states' delineation files disagree on its name")
    return listing.sort_values(["delineation", "cbsa_geoid"], ignore_index=True)


def write_cross_state_cbsas(listing: pd.DataFrame, path: str | Path) -> None:
    listing[CROSS_STATE_COLUMNS].to_csv(path, index=False, lineterminator="\n")


def read_cross_state_cbsas(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"cbsa_geoid": str, "states": str}, keep_default_na=False)


def cbsa_spans(listing: pd.DataFrame, vintage: int) -> dict[str, list[str]]:
    """CBSA code -> the states it spans, for one delineation vintage of the listing."""
    rows = listing[listing["delineation"] == int(vintage)]
    return dict(zip(rows["cbsa_geoid"], (s.split() for s in rows["states"]), strict=True))


def coverage(spanned: Sequence[str], used: Sequence[str]) -> str:
    """``complete`` if the tracts of every state the CBSA spans are used, else ``partial``."""
    from .measure import COMPLETE, PARTIAL

    return COMPLETE if set(spanned) <= set(used) else PARTIAL


def _other_levels() -> list[str]:
    """The levels not measured from the tracts of several states: all but the CBSA (each
    state's own table measures its states, counties, regions and towns)."""
    from .measure import LEVELS

    return [level for level in LEVELS if level != "cbsa"]


def cbsa_tracts(tables: Sequence[pd.DataFrame], cbsa_geoid: str) -> pd.DataFrame:
    """The tracts of one CBSA, gathered from several states' tract tables (the normalisation
    stage's, in one CRS), with the IDs of the other levels but towns emptied (they are
    measured per state) and the CBSA marked complete for measurement."""
    crs = {str(getattr(table, "crs", None)) for table in tables}
    if len(crs) > 1:
        raise ValueError(f"CBSA {cbsa_geoid}: tract tables in different CRS {sorted(crs)}")
    parts = [table[table["cbsa_geoid"] == cbsa_geoid] for table in tables]
    gathered = pd.concat(parts, ignore_index=True)
    if gathered.empty:
        return gathered
    from .measure import LEVELS

    for level in _other_levels():
        id_column = LEVELS[level][0]
        if level != "town" and id_column in gathered:
            gathered[id_column] = None
    gathered["cbsa_complete"] = True
    return gathered


def cbsa_indices(
    tables: Sequence[pd.DataFrame],
    *,
    cbsa_geoid: str,
    spanned: Sequence[str],
    used: Sequence[str],
    minimum_units: Mapping[str, int] | None = None,
    spatial: bool = True,
    **measurement,
) -> pd.DataFrame:
    """Every index of one cross-state CBSA from its tracts in ``tables`` (the tract tables
    of the states ``used``, one year), as :func:`~housing_segregation.measure.compute_indices`
    rows of the CBSA level with ``coverage``: ``complete`` when ``used`` covers every state
    ``spanned``, else ``partial``. ``measurement`` goes to ``compute_indices``; with
    ``spatial``, the tracts' centroids and areas come from their geometry (metres).
    """
    from .measure import INDEX_COLUMNS, compute_indices, with_coverage

    tracts = cbsa_tracts(tables, cbsa_geoid)
    covered = coverage(spanned, used)
    missing = sorted(set(spanned) - set(used))
    if missing:
        log.warning(
            "CBSA %s spans state(s) %s whose tracts are not at hand; measured from %s "
            "alone and marked partial",
            cbsa_geoid, " ".join(missing), " ".join(sorted(used)) or "none",
        )  # fmt: skip
    if tracts.empty:
        log.warning("CBSA %s: no tract in the tables at hand; nothing measured", cbsa_geoid)
        return with_coverage(pd.DataFrame(columns=INDEX_COLUMNS), covered)
    if spatial:
        centroids = tracts.geometry.centroid
        measurement["centroids"] = np.column_stack([centroids.x, centroids.y])
        measurement["unit_areas"] = tracts.geometry.area.to_numpy()
    table = compute_indices(
        tracts, minimum_units=minimum_units, levels=["cbsa"], **measurement
    ).reset_index(drop=True)
    if table.empty:
        log.warning(
            "CBSA %s: %d tract(s), fewer populated ones than the minimum %d; left out",
            cbsa_geoid, len(tracts), int((minimum_units or {}).get("cbsa", 2)),
        )  # fmt: skip
    return with_coverage(table, covered)
