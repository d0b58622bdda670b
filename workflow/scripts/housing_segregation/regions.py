"""Areas above the tract: CBSAs (metro and micro areas) and planning regions.

Each is attached to the tract table as ID and name columns, so the measurement stage can
group tracts by any of them. IDs are the Census's: 5-digit CBSA codes, and for Connecticut's
planning regions the county-equivalent GEOIDs the Census adopted in 2022 (09110-09190).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd

from .geography import unit_label

log = logging.getLogger(__name__)

#: USPS abbreviation of each state FIPS code (states, DC and the territories HUD covers), to
#: read the states in a CBSA title ("Worcester, MA-CT") and HUD's state columns. Source:
#: Census Bureau, FIPS state codes.
STATE_ABBREVIATIONS = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT",
    "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL",
    "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD",
    "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
    "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND",
    "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV",
    "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
}  # fmt: skip

#: What ``states: all`` means: the 50 states and the District of Columbia, the "United
#: States" of the Census Bureau's national ACS figures. Puerto Rico (72) is left out, as those
#: figures leave it out (its ACS 5-year tables are the separate Puerto Rico Community
#: Survey); list "72" in ``states`` to add it. The other territories have no ACS tables.
ALL_STATES = tuple(fips for fips in STATE_ABBREVIATIONS if int(fips) < 60)

DELINEATION_COLUMNS = {
    "CBSA Code": "cbsa_geoid",
    "CBSA Title": "cbsa_name",
    "Metropolitan/Micropolitan Statistical Area": "cbsa_type",
    "FIPS State Code": "state_fips",
    "FIPS County Code": "county_fips",
}


def read_cbsa_delineation(path: str | Path) -> pd.DataFrame:
    """Read a Census CBSA delineation ("list1") table as county -> CBSA rows."""
    path = Path(path)
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    missing = [c for c in DELINEATION_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"{path}: missing delineation column(s) {', '.join(missing)}")
    table = table[list(DELINEATION_COLUMNS)].rename(columns=DELINEATION_COLUMNS).dropna()
    table["county_geoid"] = table["state_fips"].str.zfill(2) + table["county_fips"].str.zfill(3)
    if table["county_geoid"].duplicated().any():
        county = table.loc[table["county_geoid"].duplicated(), "county_geoid"].iloc[0]
        raise ValueError(f"{path}: county {county} is in more than one CBSA")
    table["cbsa_type"] = table["cbsa_type"].str.replace(" Statistical Area", "", regex=False)
    return table[["county_geoid", "cbsa_geoid", "cbsa_name", "cbsa_type"]]


#: Columns kept from the national delineation file, in the raw layout's order.
LAYOUT_COLUMNS = [
    "CBSA Code",
    "CBSA Title",
    "Metropolitan/Micropolitan Statistical Area",
    "County/County Equivalent",
    "State Name",
    "FIPS State Code",
    "FIPS County Code",
]


XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # OLE2 compound file: legacy .xls
XLSX_MAGIC = b"PK\x03\x04"  # zip container: .xlsx


def validate_workbook(body: bytes) -> None:
    """An Excel workbook, not an HTML error page or a truncated body."""
    if body[:4] not in (XLS_MAGIC, XLSX_MAGIC):
        raise ValueError(f"not an Excel workbook (starts with {body[:40]!r})")


def state_delineation_csv(workbook: bytes, state: str) -> bytes:
    """One state's rows of the Census national delineation workbook ("list1", .xls or
    .xlsx: two title lines, a header, then notes after the table) as the layout's CSV."""
    engine = "xlrd" if workbook[:4] == XLS_MAGIC else "openpyxl"
    try:
        table = pd.read_excel(io.BytesIO(workbook), header=2, dtype=str, engine=engine)
    except Exception as error:  # xlrd and openpyxl raise their own types for bad files
        raise ValueError(f"not a readable delineation workbook ({error})") from error
    missing = [c for c in LAYOUT_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"delineation workbook lacks column(s) {', '.join(missing)}")
    rows = table.loc[table["FIPS State Code"].str.strip() == state, LAYOUT_COLUMNS]
    if rows.empty:
        raise ValueError(f"delineation workbook has no county of state {state}")
    return rows.to_csv(index=False, lineterminator="\n").encode()


def cbsa_states(title: str) -> list[str]:
    """The state abbreviations a CBSA title names: "Worcester, MA-CT" -> ["MA", "CT"]."""
    return title.rsplit(", ", 1)[-1].split("-")


def assign_cbsas(
    tracts: pd.DataFrame,
    delineation: pd.DataFrame,
    *,
    vintage: int,
    run_states: list[str],
    source: str = "CBSAs",
) -> pd.DataFrame:
    """Attach each tract's CBSA, through its county.

    A delineation built on older counties than the ACS year's (Connecticut: 2020
    delineation, 2022+ planning regions) is reached through the county of the boundary
    file (``boundary_geoid``), which has the old codes. Tracts in no CBSA get empty values.
    ``cbsa_complete`` says whether every state the CBSA spans is in ``run_states`` (the
    pipeline passes the table's own state): a CBSA measured from one state's tracts alone
    would be wrong, so one that crosses state lines is measured from all its states' tracts
    by :func:`housing_segregation.cross_state.cbsa_indices` instead.
    """
    result = tracts.copy()
    known = set(delineation["county_geoid"])
    key = result["county_geoid"]
    if not key.isin(known).any():
        key = result["boundary_geoid"].str[:5]
        log.info(
            "%s: matched on the boundary file's county codes (delineation %d)", source, vintage
        )
    lookup = delineation.set_index("county_geoid")
    for column in ("cbsa_geoid", "cbsa_name", "cbsa_type"):
        result[column] = key.map(lookup[column]).fillna("")
    result["cbsa_delineation"] = str(vintage)
    in_run = {STATE_ABBREVIATIONS[state] for state in run_states}
    result["cbsa_complete"] = [
        bool(name) and set(cbsa_states(name)) <= in_run for name in result["cbsa_name"]
    ]
    for name in sorted(
        set(result.loc[~result["cbsa_complete"] & (result["cbsa_name"] != ""), "cbsa_name"])
    ):
        log.info(
            "%s: %s spans other states; measured with their units (cross-state CBSAs)",
            source,
            name,
        )
    outside = int((result["cbsa_geoid"] == "").sum())
    log.info(
        "%s: %d %s(s) in %d CBSA(s), %d outside any CBSA (delineation %d)",
        source,
        len(result) - outside,
        unit_label(result),
        result.loc[result["cbsa_geoid"] != "", "cbsa_geoid"].nunique(),
        outside,
        vintage,
    )
    return result


def read_planning_regions(
    path: str | Path, *, town_column: str, id_column: str, name_column: str
) -> pd.DataFrame:
    """Read a town -> planning region table, keyed by the town's 5-digit COUSUBFP."""
    path = Path(path)
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    missing = [c for c in (town_column, id_column, name_column) if c not in table]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    regions = pd.DataFrame(
        {
            "cousub_fips": table[town_column].str.strip().str.zfill(10).str[-5:],
            "planning_region_geoid": table[id_column].str.strip().str.zfill(5),
            "planning_region_name": table[name_column].str.strip(),
        }
    ).drop_duplicates()
    clash = regions["cousub_fips"].duplicated()
    if clash.any():
        town = regions.loc[clash, "cousub_fips"].iloc[0]
        raise ValueError(f"{path}: town {town} is in more than one planning region")
    return regions


def assign_planning_regions(
    tracts: pd.DataFrame, regions: pd.DataFrame, *, source: str = "planning regions"
) -> pd.DataFrame:
    """Attach each tract's planning region through its town; every town must have one."""
    lookup = regions.set_index("cousub_fips")
    cousub = tracts["town_geoid"].str[-5:]
    unknown = sorted(set(cousub) - set(lookup.index))
    if unknown:
        raise ValueError(f"{source}: town(s) {', '.join(unknown[:5])} have no planning region")
    result = tracts.copy()
    result["planning_region_geoid"] = cousub.map(lookup["planning_region_geoid"])
    result["planning_region_name"] = cousub.map(lookup["planning_region_name"])
    return result
