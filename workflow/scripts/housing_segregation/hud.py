"""HUD inputs: Picture of Subsidized Households, the LIHTC database, vouchers by tract.

Three sources, each with a layout path (the raw-input layout of ``resources/`` and mirrors), a
URL, a body validator, a download function built on :mod:`housing_segregation.download` and a
reader that returns a tidy table plus a count of every coded missing value it decoded.

* **Picture of Subsidized Households** (PSH), HUD USER, one workbook per year and summary level:
  ``https://www.huduser.gov/portal/datasets/pictures/files/TRACT_AK_MN_2023_2020census.xlsx``
  (tracts of the states AK-MN; ``TRACT_MO_WY_...`` holds MO-WY) and
  ``PROJECT_2023_2020census.xlsx``.
  Files before 2022 have no census suffix (``TRACT_AK_MN_2020.xlsx``) and 2010 tracts; from 2022
  on, tracts are 2020 ones. Landing page https://www.huduser.gov/portal/datasets/assthsg.html,
  data dictionary https://www.huduser.gov/portal/datasets/pictures/dictionary_2024.pdf.
  Coded values (dictionary, "Definition of Missing values"): ``NA`` not applicable, ``-1``
  missing, ``-4`` suppressed (fewer than 11 households reported), ``-5`` non-reporting (fewer
  than 50% of households reported). All become missing, never zero.
* **LIHTC database** (``LIHTCPUB``), HUD USER: https://www.huduser.gov/lihtc/lihtcpub.zip, a
  rolling file (the newest release only) holding ``LIHTCPUB.CSV`` (or ``.xlsx``) and its data
  dictionary. It gives tract IDs per census vintage (``fips2010``, ``fips2020``; an ``X``
  replaces an unknown part) but no geocoding-quality flag. That flag, ``LVL2KX``, is in HUD's
  eGIS copy of the database (``.../LIHTC/FeatureServer/0``), whose description says to map only
  coordinates coded ``R`` (interpolated rooftop) or ``4`` (ZIP+4 centroid). The reader joins
  the two on ``HUD_ID`` and keeps only those coordinates.
* **Housing Choice Vouchers by Tract**, HUD eGIS (ArcGIS FeatureServer
  ``.../Housing_Choice_Vouchers_by_Tract/FeatureServer/0``): ``GEOID``, ``HCV_PUBLIC`` (voucher
  households), ``HCV_PUBLIC_PCT`` (as % of renter-occupied units, 2020 Census DHC H4), on 2020
  tracts. Tracts with 10 or fewer voucher households are withheld: their ``HCV_PUBLIC`` is null,
  which becomes missing (never zero) and is counted. The service holds the current extract only,
  so its vintage is the label the caller gives when downloading.

Readers return :class:`HudRead`: ``table`` and ``missing``, a tidy count of decoded codes
(``column, code, meaning, count``) that is also logged (logger ``housing_segregation.hud``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple, overload
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import requests

from housing_segregation.download import (
    USER_AGENT,
    DownloadRecord,
    fetch,
    fetch_arcgis_query,
    validate_arcgis_json,
    write_record,
    zip_members,
)
from housing_segregation.regions import STATE_ABBREVIATIONS

LOG = logging.getLogger("housing_segregation.hud")

# --------------------------------------------------------------------------------------------
# Where the files are
# --------------------------------------------------------------------------------------------

HUDUSER_PICTURES_BASE = "https://www.huduser.gov/portal/datasets/pictures/files"
PSH_LANDING_PAGE = "https://www.huduser.gov/portal/datasets/assthsg.html"
PSH_DICTIONARY_URL = "https://www.huduser.gov/portal/datasets/pictures/dictionary_2024.pdf"
LIHTC_DATABASE_URL = "https://www.huduser.gov/lihtc/lihtcpub.zip"
LIHTC_LANDING_PAGE = "https://www.huduser.gov/portal/datasets/lihtc/property.html"
HUD_EGIS_SERVICES = "https://services.arcgis.com/VTyQ9soqVukalItT/arcgis/rest/services"
LIHTC_EGIS_LAYER = f"{HUD_EGIS_SERVICES}/LIHTC/FeatureServer/0"
HCV_EGIS_LAYER = f"{HUD_EGIS_SERVICES}/Housing_Choice_Vouchers_by_Tract/FeatureServer/0"

PSH_LEVELS = ("tract", "project")
#: First year with the current bulk-file layout (the 2009-onward series on the landing page).
FIRST_PSH_YEAR = 2009
#: From this year on, PSH files use 2020 tracts and carry a ``_2020census`` suffix.
FIRST_PSH_2020_CENSUS_YEAR = 2022


_STATE_FIPS = re.compile(r"\d{2}")
_TRACT_GEOID = re.compile(r"\d{11}")


def state_postal(state: str) -> str:
    """The USPS abbreviation of a 2-digit state FIPS code, e.g. ``"09"`` -> ``"CT"``."""
    if not _STATE_FIPS.fullmatch(state) or state not in STATE_ABBREVIATIONS:
        raise ValueError(f"unknown state FIPS code {state!r}")
    return STATE_ABBREVIATIONS[state]


def psh_census_vintage(year: int) -> int:
    """The census whose tracts a PSH year uses: 2010 up to 2021, 2020 from 2022."""
    return 2020 if year >= FIRST_PSH_2020_CENSUS_YEAR else 2010


def psh_state_range(state: str) -> str:
    """Which of HUD's two tract workbooks holds a state: ``AK_MN`` or ``MO_WY``.

    HUD splits the tract file by USPS abbreviation in alphabetical order (AK ... MN, MO ... WY).
    """
    return "AK_MN" if state_postal(state) <= "MN" else "MO_WY"


def psh_file_name(
    year: int, level: str, state: str | None = None, census: int | None = None
) -> str:
    """HUD's file name, e.g. ``TRACT_AK_MN_2023_2020census.xlsx`` or ``PROJECT_2020.xlsx``.

    ``census`` defaults to :func:`psh_census_vintage`. Years before 2022 have no suffix; for
    2022 on, ``_2020census`` (confirmed for 2023-2025) or ``_2010census`` when asked for.
    """
    if year < FIRST_PSH_YEAR:
        raise ValueError(f"PSH bulk files start in {FIRST_PSH_YEAR}, got {year}")
    if level not in PSH_LEVELS:
        raise ValueError(f"unknown PSH level {level!r}; expected one of {list(PSH_LEVELS)}")
    census = psh_census_vintage(year) if census is None else census
    if census not in (2010, 2020):
        raise ValueError(f"PSH census vintage must be 2010 or 2020, got {census}")
    if census == 2020 and year < FIRST_PSH_2020_CENSUS_YEAR:
        raise ValueError(f"PSH {year} uses 2010 tracts; 2020 ones start in 2022")
    suffix = f"_{census}census" if year >= FIRST_PSH_2020_CENSUS_YEAR else ""
    if level == "project":
        return f"PROJECT_{year}{suffix}.xlsx"
    if state is None:
        raise ValueError("the PSH tract file is split by state: give state")
    return f"TRACT_{psh_state_range(state)}_{year}{suffix}.xlsx"


def psh_layout(year: int, level: str, state: str | None = None, census: int | None = None) -> str:
    """Raw-input layout path: ``hud-psh/<HUD's file name>`` (see :func:`psh_file_name`)."""
    return f"hud-psh/{psh_file_name(year, level, state, census)}"


def psh_url(
    year: int,
    level: str,
    state: str | None = None,
    census: int | None = None,
    base_url: str = HUDUSER_PICTURES_BASE,
) -> str:
    """Where HUD USER publishes the PSH workbook for a year and level."""
    return f"{base_url.rstrip('/')}/{psh_file_name(year, level, state, census)}"


def lihtc_layout(vintage: int | str) -> str:
    """``hud-lihtc/lihtcpub_{vintage}.zip``: vintage = last placed-in-service year covered."""
    return f"hud-lihtc/lihtcpub_{vintage}.zip"


def lihtc_geocoding_layout(vintage: int | str, state: str) -> str:
    """``hud-lihtc/lihtc_egis_{vintage}_state{fips}.json``: one state's rows of the eGIS layer
    (a pattern too: the parts are not checked here, as in :mod:`housing_segregation.paths`)."""
    return f"hud-lihtc/lihtc_egis_{vintage}_state{state}.json"


def hcv_layout(vintage: int | str, state: str) -> str:
    """``hud-hcv/hcv_{vintage}_tract_state{fips}.json``: one state's voucher tracts (a
    pattern too: the parts are not checked here, as in :mod:`housing_segregation.paths`)."""
    return f"hud-hcv/hcv_{vintage}_tract_state{state}.json"


def hcv_query_params(state: str) -> dict[str, str]:
    """ArcGIS query for one state's tracts, every field, no geometry, stable order."""
    state_postal(state)
    return {
        "where": f"STATE = '{state}'",
        "outFields": "*",
        "orderByFields": "GEOID",
        "returnGeometry": "false",
        "f": "json",
    }


def lihtc_geocoding_query_params(state: str) -> dict[str, str]:
    """ArcGIS query for one state's LIHTC projects, with point geometry in WGS 84."""
    return {
        "where": f"PROJ_ST = '{state_postal(state)}'",
        "outFields": "*",
        "orderByFields": "HUD_ID",
        "returnGeometry": "true",
        "outSR": "4326",
        "f": "json",
    }


# --------------------------------------------------------------------------------------------
# Validators: each raises ValueError saying what is wrong with the body.
# --------------------------------------------------------------------------------------------


def validate_psh_xlsx(body: bytes) -> None:
    """Check that ``body`` is an intact Excel workbook (a zip with ``xl/workbook.xml``)."""
    names = _zip_members(body, "PSH workbook")
    if "xl/workbook.xml" not in names:
        raise ValueError(f"zip archive is not an Excel workbook (members: {names[:10]})")


def validate_lihtc_zip(body: bytes) -> None:
    """Check that ``body`` is an intact zip holding ``LIHTCPUB.CSV`` or ``LIHTCPUB.xlsx``."""
    names = _zip_members(body, "LIHTC database")
    if _lihtc_member(names) is None:
        raise ValueError(f"zip archive has no LIHTCPUB.CSV or LIHTCPUB.xlsx (members: {names})")


def validate_hcv_json(body: bytes) -> None:
    """Check that ``body`` is an ArcGIS response with voucher features (GEOID, HCV_PUBLIC)."""
    _validate_features(body, ("GEOID", "HCV_PUBLIC"), "voucher tracts")


def validate_lihtc_geocoding_json(body: bytes) -> None:
    """Check that ``body`` is an ArcGIS response with LIHTC features (HUD_ID, LVL2KX)."""
    _validate_features(body, ("HUD_ID", "LVL2KX"), "LIHTC projects")


def _zip_members(body: bytes, what: str) -> list[str]:
    if not body:
        raise ValueError(
            f"empty body where a {what} was expected (huduser.gov answers its bot check with "
            "HTTP 202 and no content)"
        )
    if body.lstrip()[:1] == b"<":
        text = " ".join(body[:800].decode("utf-8", errors="replace").split())[:200]
        raise ValueError(f"expected a {what} (zip), got what looks like HTML: {text}")
    return zip_members(body)


def _validate_features(body: bytes, required: tuple[str, ...], what: str) -> None:
    validate_arcgis_json(body)
    payload = json.loads(body)
    features = payload["features"]
    if not features:
        raise ValueError(f"the response has no {what} (an empty features array)")
    fields = {name.upper() for name in _feature_attributes(features[0], what)}
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"{what}: features lack the fields {missing}")


# --------------------------------------------------------------------------------------------
# Downloads: fetch, validate, write atomically, write the provenance record.
# --------------------------------------------------------------------------------------------


def huduser_session(referer: str) -> requests.Session:
    """A session for huduser.gov, which refuses some requests without a ``Referer``."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Referer"] = referer
    return session


def download_psh(
    year: int,
    level: str,
    destination: Path,
    record_path: Path,
    *,
    state: str | None = None,
    census: int | None = None,
    base_url: str = HUDUSER_PICTURES_BASE,
    session: requests.Session | None = None,
    **options: Any,
) -> DownloadRecord:
    """Download a PSH workbook unchanged and write its provenance record to ``record_path``.

    ``options`` are :func:`~housing_segregation.download.fetch`'s retry options
    (``max_attempts``, ``backoff_seconds``, ``timeout_seconds``, ``sleep``).
    """
    url = psh_url(year, level, state, census, base_url)
    record = fetch(
        url,
        Path(destination),
        validate=validate_psh_xlsx,
        session=session or huduser_session(PSH_LANDING_PAGE),
        **options,
    )
    write_record(record, Path(record_path))
    return record


def download_lihtc_database(
    destination: Path,
    record_path: Path,
    *,
    url: str = LIHTC_DATABASE_URL,
    session: requests.Session | None = None,
    **options: Any,
) -> DownloadRecord:
    """Download ``lihtcpub.zip`` unchanged and write its provenance record."""
    record = fetch(
        url,
        Path(destination),
        validate=validate_lihtc_zip,
        session=session or huduser_session(LIHTC_LANDING_PAGE),
        **options,
    )
    write_record(record, Path(record_path))
    return record


def _download_layer(
    layer_url: str,
    params: Mapping[str, str],
    validate: Callable[[bytes], None],
    destination: Path,
    record_path: Path,
    **options: Any,
) -> DownloadRecord:
    """Every page of one ArcGIS layer's query as one file, with its provenance record."""
    record = fetch_arcgis_query(
        f"{layer_url.rstrip('/')}/query", Path(destination), params=params, validate=validate,
        **options,
    )  # fmt: skip
    write_record(record, Path(record_path))
    return record


def download_lihtc_geocoding(
    state: str,
    destination: Path,
    record_path: Path,
    *,
    layer_url: str = LIHTC_EGIS_LAYER,
    **options: Any,
) -> DownloadRecord:
    """Download one state's projects of the eGIS LIHTC layer (with ``LVL2KX``), all pages.
    ``options`` go to :func:`download.fetch_arcgis_query` (page_size, session, retries)."""
    return _download_layer(
        layer_url, lihtc_geocoding_query_params(state), validate_lihtc_geocoding_json,
        destination, record_path, **options,
    )  # fmt: skip


def download_hcv(
    state: str,
    destination: Path,
    record_path: Path,
    *,
    layer_url: str = HCV_EGIS_LAYER,
    **options: Any,
) -> DownloadRecord:
    """Download one state's tracts of Housing Choice Vouchers by Tract, all pages.
    ``options`` go to :func:`download.fetch_arcgis_query` (page_size, session, retries)."""
    return _download_layer(
        layer_url, hcv_query_params(state), validate_hcv_json, destination, record_path,
        **options,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Reading: decoded tables and the count of what was decoded
# --------------------------------------------------------------------------------------------


class HudRead(NamedTuple):
    """A reader's result: the tidy ``table`` and ``missing``, one row per (column, code) with
    the number of values that code turned into missing (``column, code, meaning, count``)."""

    table: pd.DataFrame
    missing: pd.DataFrame


MISSING_COLUMNS = ("column", "code", "meaning", "count")

#: PSH coded values (data dictionary, "Definition of Missing values").
PSH_CODES: dict[str, str] = {
    "NA": "not applicable",
    "-1": "missing",
    "-4": "suppressed: fewer than 11 households reported",
    "-5": "non-reporting: fewer than 50% of households reported",
}

#: Row outcomes counted with the codes (column ``tract_geoid``).
PSH_TRACT_OUTCOMES: dict[str, str] = {
    "unlocated": "no full 11-digit tract code (HUD writes X for an unknown part)",
}

#: PSH program label (case-insensitive) -> (program, program_group). Labels, not numbers: HUD
#: renumbered programs between years (e.g. 7 was "Multi-Family Other", 8 is now "202/PRAC").
PSH_PROGRAMS: dict[str, tuple[str, str]] = {
    "summary of all hud programs": ("all_programs", "all_programs"),
    "public housing": ("public_housing", "public_housing"),
    "housing choice vouchers": ("housing_choice_vouchers", "housing_choice_vouchers"),
    "project based section 8": ("project_based_section_8", "project_based_section_8"),
    "section 8 nc/sr": ("section_8_nc_sr", "project_based_section_8"),
    "mod rehab": ("mod_rehab", "other_multifamily"),
    "section 236": ("section_236", "other_multifamily"),
    "s236/bmir": ("section_236_bmir", "other_multifamily"),
    "rentsup/rap": ("rent_supplement_rap", "other_multifamily"),
    "202/prac": ("section_202_prac", "other_multifamily"),
    "811/prac": ("section_811_prac", "other_multifamily"),
    "multi-family other": ("multifamily_other", "other_multifamily"),
    "lihtc": ("lihtc", "lihtc"),
}
PSH_PROGRAM_GROUPS = (
    "all_programs",
    "public_housing",
    "project_based_section_8",
    "other_multifamily",
    "housing_choice_vouchers",
    "lihtc",
)

#: PSH variable -> tidy column. Percentages stay on HUD's 0-100 scale; shares of households are
#: of reporting households, characteristics of the head unless the dictionary says otherwise.
PSH_MEASURES: dict[str, str] = {
    "total_units": "subsidized_units",
    "pct_occupied": "pct_occupied",
    "number_reported": "households_reported",
    "pct_reported": "pct_reported",
    "people_total": "people",
    "people_per_unit": "people_per_unit",
    "rent_per_month": "household_rent_per_month",
    "spending_per_month": "hud_spending_per_month",
    "hh_income": "average_household_income",
    "pct_lt50_median": "pct_income_below_50_ami",
    "pct_lt30_median": "pct_income_below_30_ami",
    "pct_female_head": "pct_female_head",
    "pct_disabled_all": "pct_people_disabled",
    "pct_age62plus": "pct_head_age_62_plus",
    "pct_minority": "pct_minority",
    "pct_black_nonhsp": "pct_black_nh",
    "pct_native_american_nonhsp": "pct_native_american_nh",
    "pct_asian_pacific_nonhsp": "pct_asian_pacific_islander_nh",
    "pct_white_nothsp": "pct_white_nh",
    "pct_hispanic": "pct_hispanic",
    "months_waiting": "months_waiting",
    "months_from_movein": "months_since_move_in",
    "tpoverty": "tract_pct_poverty",
    "tminority": "tract_pct_minority",
}
#: Variables a PSH file must have; the other measures become missing (with a warning) if absent.
PSH_REQUIRED = ("program", "program_label", "code", *tuple(PSH_MEASURES)[:5])

#: ``sub_program`` values that mark a program's own total row where breakout rows exist.
_PSH_TOTAL_SUB_PROGRAMS = frozenset({"", "na", "n/a"})

PSH_TRACT_COLUMNS = (
    "year",
    "tract_vintage",
    "tract_geoid",
    "state_fips",
    "county_geoid",
    "name",
    "program",
    "program_group",
    "program_code",
    "program_label",
    *PSH_MEASURES.values(),
)
PSH_PROJECT_COLUMNS = (
    "year",
    "tract_vintage",
    "project_code",
    "project_name",
    "address",
    "city",
    "zip",
    "state_postal",
    "tract_geoid",
    "latitude",
    "longitude",
    "program",
    "program_group",
    "program_code",
    "program_label",
    "sub_program",
    *PSH_MEASURES.values(),
)


def read_psh_tracts(
    path: str | Path, *, year: int, state: str, census: int | None = None
) -> HudRead:
    """Read one state's tracts from a PSH tract workbook (or a CSV in the same layout).

    One row per tract x program (see :data:`PSH_PROGRAMS`; where a year adds sub-program
    breakout rows, only the program's total row is kept). ``tract_geoid`` is the 11-digit
    GEOID with its leading zeros; rows whose code is not a full tract (HUD writes ``X`` for
    unknown parts) are dropped and counted as ``tract_geoid``/``unlocated``. Every coded value
    (:data:`PSH_CODES`, and any other negative number) becomes missing.
    """
    path = Path(path)
    source = str(path)
    census = psh_census_vintage(year) if census is None else census

    def in_state(code: str) -> bool:
        return _tract_code(code).startswith(state)

    state_postal(state)
    header, rows = _read_table(path, keep=("code", in_state))
    _require(header, PSH_REQUIRED, source)
    rows, breakouts = _psh_totals(rows, key="code")
    missing: Counter[tuple[str, str]] = Counter()
    located = []
    for number, row in rows:
        if _TRACT_GEOID.fullmatch(_tract_code(row["code"])):
            located.append((number, row))
        else:
            missing[("tract_geoid", "unlocated")] += 1
    if breakouts:
        LOG.info("%s: dropped %d sub-program breakout row(s)", source, breakouts)
    if missing[("tract_geoid", "unlocated")]:
        LOG.warning(
            "%s: dropped %d row(s) of state %s without a full tract code",
            source,
            missing[("tract_geoid", "unlocated")],
            state,
        )
    if not located:
        raise ValueError(f"{source}: no tract rows for state {state}")
    geoid = [_tract_code(row["code"]) for _, row in located]
    table = pd.DataFrame(
        {
            "year": np.int64(year),
            "tract_vintage": np.int64(census),
            "tract_geoid": geoid,
            "state_fips": [g[:2] for g in geoid],
            "county_geoid": [g[:5] for g in geoid],
            "name": [row.get("name", "") for _, row in located],
        }
    )
    return _psh_read(
        table, located, header, source, missing, key=("tract_geoid", "program"),
        columns=PSH_TRACT_COLUMNS,
    )  # fmt: skip


def read_psh_projects(
    path: str | Path, *, year: int, state: str, census: int | None = None
) -> HudRead:
    """Read one state's projects from a PSH project workbook (or a CSV in the same layout).

    One row per project x program x sub-program, with the project's address, its tract
    (``stctytrt``, 11 digits) and coordinates as HUD gives them. Coded values are decoded as
    in :func:`read_psh_tracts`; latitude and longitude are not codes.
    """
    path = Path(path)
    source = str(path)
    census = psh_census_vintage(year) if census is None else census
    postal = state_postal(state)
    header, rows = _read_table(path)
    _require(header, PSH_REQUIRED, source)
    state_column = "state" if "state" in header else "states" if "states" in header else None
    if state_column is None:
        raise ValueError(f"{source}: no state or states column to select {postal} by")
    rows = [
        (number, row) for number, row in rows if row[state_column].split(" ")[0].upper() == postal
    ]
    if not rows:
        raise ValueError(f"{source}: no project rows for state {postal}")
    missing: Counter[tuple[str, str]] = Counter()
    tract = [_tract_code(row.get("stctytrt", "")) for _, row in rows]
    unlocated = sum(1 for code in tract if not _TRACT_GEOID.fullmatch(code))
    if unlocated:
        missing[("tract_geoid", "unlocated")] += unlocated
    table = pd.DataFrame(
        {
            "year": np.int64(year),
            "tract_vintage": np.int64(census),
            "project_code": [row["code"] for _, row in rows],
            "project_name": [row.get("name", "") for _, row in rows],
            "address": [row.get("std_addr", "") for _, row in rows],
            "city": [row.get("std_city", "") for _, row in rows],
            "zip": [_zip5(row.get("std_zip5", "")) for _, row in rows],
            "state_postal": postal,
            "tract_geoid": [code if _TRACT_GEOID.fullmatch(code) else None for code in tract],
            "latitude": _coordinates(rows, "latitude", source),
            "longitude": _coordinates(rows, "longitude", source),
            "sub_program": [row.get("sub_program", "") for _, row in rows],
        }
    )
    return _psh_read(
        table, rows, header, source, missing, key=("project_code", "program", "sub_program"),
        columns=PSH_PROJECT_COLUMNS,
    )  # fmt: skip


def _psh_read(
    table: pd.DataFrame,
    rows: list[tuple[int, dict[str, str]]],
    header: Sequence[str],
    source: str,
    missing: Counter[tuple[str, str]],
    *,
    key: tuple[str, ...],
    columns: Sequence[str],
) -> HudRead:
    """Add a PSH table's programs and decoded measures, check that ``key`` (a geography or
    project, the program and, for projects, the sub-program) is unique, and sort by it."""
    _add_programs(table, rows, source)
    _add_psh_measures(table, rows, header, source, missing)
    duplicated = table.duplicated(list(key))
    if duplicated.any():
        first = table[duplicated].iloc[0]
        labels = " / ".join(repr(first[k]) for k in ("program_label", *key[2:]))
        raise ValueError(f"{source}: {key[0]} {first[key[0]]} has more than one {labels} row")
    table = table.sort_values([key[0], "program_code"], ignore_index=True)
    return HudRead(
        table[list(columns)], _missing_table(missing, {**PSH_CODES, **PSH_TRACT_OUTCOMES}, source)
    )


def _psh_totals(
    rows: list[tuple[int, dict[str, str]]], *, key: str
) -> tuple[list[tuple[int, dict[str, str]]], int]:
    """Drop sub-program breakout rows where a program's total row is also present."""
    groups: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    for number, row in rows:
        groups.setdefault((row[key], row["program_label"].strip().lower()), []).append(
            (number, row)
        )
    kept: list[tuple[int, dict[str, str]]] = []
    for group in groups.values():
        if len(group) == 1:
            kept.extend(group)
            continue
        totals = [
            item
            for item in group
            if item[1].get("sub_program", "").strip().lower() in _PSH_TOTAL_SUB_PROGRAMS
        ]
        kept.extend(totals or group)  # several totals, or none: the duplicate check reports it
    kept.sort(key=lambda item: item[0])
    return kept, len(rows) - len(kept)


def _add_programs(table: pd.DataFrame, rows: list[tuple[int, dict[str, str]]], source: str) -> None:
    programs, groups, codes, labels = [], [], [], []
    for number, row in rows:
        label = " ".join(row["program_label"].split())
        known = PSH_PROGRAMS.get(label.lower())
        if known is None:
            raise ValueError(
                f"{source}: row {number}: unknown program_label {label!r} "
                f"(known: {sorted(PSH_PROGRAMS)})"
            )
        programs.append(known[0])
        groups.append(known[1])
        labels.append(label)
        codes.append(_integer(row["program"], "program", number, source))
    table["program"] = programs
    table["program_group"] = groups
    table["program_code"] = pd.array(codes, dtype="Int64")
    table["program_label"] = labels


def _add_psh_measures(
    table: pd.DataFrame,
    rows: list[tuple[int, dict[str, str]]],
    header: list[str],
    source: str,
    missing: Counter[tuple[str, str]],
) -> None:
    for variable, column in PSH_MEASURES.items():
        if variable not in header:
            LOG.warning("%s: no %s column; %s set to missing", source, variable, column)
            table[column] = np.nan
            continue
        values, codes = _decode(
            [(number, row[variable]) for number, row in rows],
            PSH_CODES,
            column=variable,
            source=source,
        )
        table[column] = values
        for code, count in codes.items():
            missing[(column, code)] += count


def _coordinates(rows: list[tuple[int, dict[str, str]]], column: str, source: str) -> np.ndarray:
    """Coordinates as given (longitudes are negative, so no code decoding); blank -> NaN."""
    values = np.full(len(rows), np.nan)
    for index, (number, row) in enumerate(rows):
        text = row.get(column, "").strip()
        if text and text.upper() != "NA":
            values[index] = _number(text, column, number, source)
    return values


# --------------------------------------------------------------------------------------------
# LIHTC
# --------------------------------------------------------------------------------------------

#: ``yr_pis`` and ``yr_alloc`` codes (data dictionary).
LIHTC_YEAR_CODES: dict[str, str] = {
    "8888": "placed-in-service status not confirmed",
    "9999": "placed in service, but year missing",
}
#: ``LVL2KX``, the geocoding accuracy of HUD's enterprise geocoder (eGIS LIHTC layer).
LVL2KX_CODES: dict[str, str] = {
    "R": "interpolated rooftop",
    "4": "ZIP+4 centroid",
    "B": "block group centroid",
    "T": "census tract centroid",
    "2": "ZIP+2 centroid",
    "Z": "ZIP5 centroid",
    "5": "ZIP5 centroid",
}
#: Codes precise enough to map ("only use ... where the LVL2KX field is coded 'R' or '4'").
PRECISE_GEOCODES = frozenset({"R", "4"})
LIHTC_TRACT_VINTAGES = (2020, 2010, 2000, 1990)
LIHTC_REQUIRED = ("hud_id", "project", "proj_add", "proj_cty", "proj_st", "n_units", "li_units")
#: Coordinate outcomes counted in ``missing`` (column ``coordinates``).
COORDINATE_OUTCOMES: dict[str, str] = {
    "not_geocoded": "LVL2KX is empty: HUD could not geocode the address",
    "not_in_geocoding_layer": "no row in the eGIS LIHTC layer for this HUD_ID",
    "no_geocoding_layer": "no eGIS LIHTC layer given, so no precision flag",
    "precise_without_coordinates": "LVL2KX is precise but the layer gives no coordinates",
}
LIHTC_COLUMNS = (
    "database_vintage",
    "hud_id",
    "project_name",
    "address",
    "city",
    "state_postal",
    "zip",
    "n_units",
    "li_units",
    "year_placed_in_service",
    "year_allocated",
    "tract_geoid",
    "tract_vintage",
    "latitude",
    "longitude",
    "geocode_level",
    "coordinates_precise",
)


def read_lihtc_geocoding(path: str | Path) -> pd.DataFrame:
    """Read the eGIS LIHTC layer: ``hud_id``, ``geocode_level`` (LVL2KX), coordinates.

    Coordinates come from the ``LAT``/``LON`` attributes, else from the point geometry
    (queried in WGS 84).
    """
    path = Path(path)
    source = str(path)
    features = _read_features(path)
    records = []
    for index, feature in enumerate(features, start=1):
        attributes = {k.upper(): v for k, v in _feature_attributes(feature, source).items()}
        if "HUD_ID" not in attributes or "LVL2KX" not in attributes:
            raise ValueError(f"{source}: feature {index} lacks HUD_ID or LVL2KX")
        latitude, longitude = attributes.get("LAT"), attributes.get("LON")
        geometry = feature.get("geometry") or {}
        if latitude is None and isinstance(geometry, dict):
            if "y" in geometry:
                latitude, longitude = geometry.get("y"), geometry.get("x")
            elif geometry.get("type") == "Point":
                longitude, latitude = geometry["coordinates"][:2]
        level = attributes["LVL2KX"]
        records.append(
            {
                "hud_id": str(attributes["HUD_ID"]).strip(),
                "geocode_level": None if level in (None, "") else str(level).strip().upper(),
                "latitude": _float_or_nan(latitude, "LAT", index, source),
                "longitude": _float_or_nan(longitude, "LON", index, source),
            }
        )
    table = pd.DataFrame(records, columns=["hud_id", "geocode_level", "latitude", "longitude"])
    duplicated = table["hud_id"].duplicated()
    if duplicated.any():
        raise ValueError(f"{source}: HUD_ID {table['hud_id'][duplicated].iloc[0]} appears twice")
    return table


def read_lihtc_projects(
    path: str | Path,
    *,
    state: str,
    vintage: int,
    geocoding: pd.DataFrame | None,
    tract_vintage: int | None = None,
) -> HudRead:
    """Read one state's projects from the LIHTC database (``lihtcpub.zip``, or its CSV/xlsx).

    One row per ``hud_id`` with name, address, units, years (``8888``/``9999`` -> missing), and
    the tract the database gives for ``tract_vintage`` (default: the newest ``fips<year>``
    column present), as an 11-digit GEOID; an ``X`` in it means an unknown county or tract, so
    the tract is missing. Coordinates come from ``geocoding`` (:func:`read_lihtc_geocoding`) and
    are kept only where its ``LVL2KX`` is ``R`` or ``4``; the others, and the projects it lacks,
    get missing coordinates, all counted in ``missing`` under ``coordinates``.
    """
    path = Path(path)
    source = str(path)
    postal = state_postal(state)
    header, rows = _read_table(path, keep=("proj_st", lambda value: value.upper() == postal))
    _require(header, LIHTC_REQUIRED, source)
    if not rows:
        raise ValueError(f"{source}: no projects in state {postal}")
    vintages = [v for v in LIHTC_TRACT_VINTAGES if f"fips{v}" in header]
    if tract_vintage is None:
        if not vintages:
            raise ValueError(f"{source}: no fips<year> tract column")
        tract_vintage = vintages[0]
    elif tract_vintage not in vintages:
        raise ValueError(f"{source}: no fips{tract_vintage} column (has {vintages})")
    missing: Counter[tuple[str, str]] = Counter()
    blank = {".": "missing (Access export)"}
    table = pd.DataFrame(
        {
            "database_vintage": np.int64(vintage),
            "hud_id": [row["hud_id"] for _, row in rows],
            "project_name": [row["project"] for _, row in rows],
            "address": [row["proj_add"] for _, row in rows],
            "city": [row["proj_cty"] for _, row in rows],
            "state_postal": postal,
            "zip": [_zip5(row.get("proj_zip", "")) for _, row in rows],
        }
    )
    for variable in ("n_units", "li_units"):
        values, found = _decode(
            [(n, r[variable]) for n, r in rows], blank, column=variable, source=source
        )
        table[variable] = values
        missing.update({(variable, code): count for code, count in found.items()})
    for variable, column in (("yr_pis", "year_placed_in_service"), ("yr_alloc", "year_allocated")):
        if variable not in header:
            table[column] = pd.array([None] * len(rows), dtype="Int64")
            continue
        values, found = _decode(
            [(n, r[variable]) for n, r in rows],
            {**LIHTC_YEAR_CODES, **blank},
            column=variable,
            source=source,
        )
        table[column] = pd.array(
            [None if math.isnan(v) else round(v) for v in values], dtype="Int64"
        )
        missing.update({(column, code): count for code, count in found.items()})
    tracts = []
    for number, row in rows:
        text = _tract_code(row.get(f"fips{tract_vintage}", ""))
        if _TRACT_GEOID.fullmatch(text) and text.startswith(state):
            tracts.append(text)
            continue
        tracts.append(None)
        code = "X" if "X" in text.upper() else "blank" if not text else "invalid"
        missing[("tract_geoid", code)] += 1
        if code == "invalid":
            LOG.warning("%s: row %d: tract %r is not in state %s", source, number, text, state)
    table["tract_geoid"] = tracts
    table["tract_vintage"] = np.int64(tract_vintage)
    duplicated = table["hud_id"].duplicated()
    if duplicated.any():
        raise ValueError(f"{source}: hud_id {table['hud_id'][duplicated].iloc[0]} appears twice")
    _add_precise_coordinates(table, geocoding, missing, source)
    table = table.sort_values("hud_id", ignore_index=True)
    meanings = {
        **LIHTC_YEAR_CODES,
        **blank,
        **COORDINATE_OUTCOMES,
        **{code: f"imprecise geocode: {text}" for code, text in LVL2KX_CODES.items()},
        "X": "tract not identified (X in the FIPS code)",
        "blank": "no tract given",
        "invalid": "tract code not of this state",
    }
    return HudRead(table[list(LIHTC_COLUMNS)], _missing_table(missing, meanings, source))


def _add_precise_coordinates(
    table: pd.DataFrame,
    geocoding: pd.DataFrame | None,
    missing: Counter[tuple[str, str]],
    source: str,
) -> None:
    if geocoding is None:
        LOG.warning("%s: no eGIS geocoding layer; no coordinates are used", source)
        table["geocode_level"] = None
        table["coordinates_precise"] = False
        table["latitude"] = np.nan
        table["longitude"] = np.nan
        missing[("coordinates", "no_geocoding_layer")] += len(table)
        return
    layer = geocoding.set_index("hud_id")
    level = table["hud_id"].map(layer["geocode_level"])
    in_layer = table["hud_id"].isin(layer.index)
    latitude = table["hud_id"].map(layer["latitude"]).astype("float64")
    longitude = table["hud_id"].map(layer["longitude"]).astype("float64")
    precise = level.isin(list(PRECISE_GEOCODES)) & latitude.notna() & longitude.notna()
    table["geocode_level"] = level.where(level.notna(), None)
    table["coordinates_precise"] = precise.astype(bool)
    table["latitude"] = latitude.where(precise)
    table["longitude"] = longitude.where(precise)
    outcomes: Counter[str] = Counter()
    for is_in, code, is_precise in zip(in_layer, level, precise, strict=True):
        if is_precise:
            continue
        if not is_in:
            outcomes["not_in_geocoding_layer"] += 1
        elif pd.isna(code):
            outcomes["not_geocoded"] += 1
        elif code in PRECISE_GEOCODES:
            outcomes["precise_without_coordinates"] += 1
        else:
            outcomes[str(code)] += 1
    for outcome, count in outcomes.items():
        missing[("coordinates", outcome)] += count
    LOG.info(
        "%s: %d of %d project(s) have precise coordinates (LVL2KX R or 4); %d do not",
        source,
        int(precise.sum()),
        len(table),
        sum(outcomes.values()),
    )


# --------------------------------------------------------------------------------------------
# Housing Choice Vouchers by tract
# --------------------------------------------------------------------------------------------

HCV_CODES: dict[str, str] = {
    "null": "suppressed: 10 or fewer voucher households (withheld as null)",
}
HCV_COLUMNS = (
    "vintage",
    "tract_geoid",
    "tract_vintage",
    "name",
    "vouchers",
    "vouchers_pct_of_renter_units",
    "vouchers_suppressed",
)


def read_hcv_tracts(
    path: str | Path, *, state: str, vintage: int, tract_vintage: int = 2020
) -> HudRead:
    """Read one state's tracts from a Housing Choice Vouchers by Tract download.

    One row per tract: ``vouchers`` (``HCV_PUBLIC``, households using a voucher) and
    ``vouchers_pct_of_renter_units`` (``HCV_PUBLIC_PCT``). A withheld tract (null, i.e. 10 or
    fewer voucher households) has missing values and ``vouchers_suppressed`` true, never zero;
    a negative number, should one appear, is read as a code the same way.
    """
    path = Path(path)
    source = str(path)
    state_postal(state)
    features = _read_features(path)
    records = []
    missing: Counter[tuple[str, str]] = Counter()
    for index, feature in enumerate(features, start=1):
        attributes = {k.upper(): v for k, v in _feature_attributes(feature, source).items()}
        if "GEOID" not in attributes or "HCV_PUBLIC" not in attributes:
            raise ValueError(f"{source}: feature {index} lacks GEOID or HCV_PUBLIC")
        geoid = _tract_code(_cell_text(attributes["GEOID"]))
        if not _TRACT_GEOID.fullmatch(geoid):
            raise ValueError(f"{source}: feature {index}: malformed tract GEOID {geoid!r}")
        if not geoid.startswith(state):
            continue
        vouchers, code = _hcv_value(attributes["HCV_PUBLIC"], "HCV_PUBLIC", index, source)
        if code:
            missing[("vouchers", code)] += 1
        share, share_code = np.nan, None
        if "HCV_PUBLIC_PCT" in attributes:
            share, share_code = _hcv_value(
                attributes["HCV_PUBLIC_PCT"], "HCV_PUBLIC_PCT", index, source
            )
        if share_code:
            missing[("vouchers_pct_of_renter_units", share_code)] += 1
        records.append(
            {
                "vintage": vintage,
                "tract_geoid": geoid,
                "tract_vintage": tract_vintage,
                "name": _cell_text(attributes.get("EANAME") or attributes.get("NAME")),
                "vouchers": vouchers,
                "vouchers_pct_of_renter_units": share,
                "vouchers_suppressed": code is not None,
            }
        )
    if not records:
        raise ValueError(f"{source}: no tracts of state {state}")
    table = pd.DataFrame(records, columns=list(HCV_COLUMNS))
    table = table.astype({"vintage": "int64", "tract_vintage": "int64"})
    duplicated = table["tract_geoid"].duplicated()
    if duplicated.any():
        raise ValueError(f"{source}: tract {table['tract_geoid'][duplicated].iloc[0]} twice")
    table = table.sort_values("tract_geoid", ignore_index=True)
    return HudRead(table, _missing_table(missing, HCV_CODES, source))


def _hcv_value(value: object, field: str, index: int, source: str) -> tuple[float, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return np.nan, "null"
    number = _float_or_nan(value, field, index, source)
    if number < 0:
        return np.nan, _code_text(number)
    return number, None


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _read_table(
    path: Path, *, keep: tuple[str, Callable[[str], bool]] | None = None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read an .xlsx, .csv, or a zip holding ``LIHTCPUB.CSV``/``.xlsx``, as text rows.

    Headers are lower-cased; rows are ``(spreadsheet row number, {header: text})``. With
    ``keep = (column, test)`` only rows whose ``column`` passes ``test`` are kept, checked
    before the rest of the row is converted (the workbooks are national and large).
    """
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                member = _lihtc_member(archive.namelist())
                if member is None:
                    raise ValueError(f"{path}: no LIHTCPUB.CSV or LIHTCPUB.xlsx in the archive")
                data = archive.read(member)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{path}: not a valid zip archive: {exc}") from None
        member_suffix = Path(member).suffix.lower()
        if member_suffix == ".csv":
            return _csv_rows(data, f"{path}!{member}", keep)
        return _xlsx_rows(io.BytesIO(data), f"{path}!{member}", keep)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, str(path), keep)
    if suffix == ".csv":
        return _csv_rows(path.read_bytes(), str(path), keep)
    raise ValueError(f"{path}: expected .xlsx, .csv or .zip")


def _csv_rows(
    data: bytes, source: str, keep: tuple[str, Callable[[str], bool]] | None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Access exports of LIHTCPUB
    reader = csv.reader(io.StringIO(text, newline=""))
    return _rows(enumerate(reader, start=1), source, keep)


def _xlsx_rows(
    file: Path | io.BytesIO, source: str, keep: tuple[str, Callable[[str], bool]] | None
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The first worksheet's rows, streamed from the XML (a few times faster than openpyxl,
    which matters for HUD's national tract workbooks)."""
    try:
        with zipfile.ZipFile(file) as archive:
            sheet = _first_sheet(archive)
            shared = _shared_strings(archive)
            with archive.open(sheet) as handle:
                return _rows(_sheet_rows(handle, shared), source, keep)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, zlib.error, EOFError) as exc:
        raise ValueError(f"{source}: not a readable Excel workbook: {exc}") from None


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The archive path of the workbook's first worksheet (via workbook.xml and its rels)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheet = workbook.find(f"{_SHEET_NS}sheets/{_SHEET_NS}sheet")
    if sheet is None:
        raise KeyError("the workbook lists no sheet")
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for relation in relations.iter(f"{_PACKAGE_NS}Relationship"):
        if relation.get("Id") == sheet.get(_RELATIONSHIP_ID):
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise KeyError(f"no relationship for sheet {sheet.get('name')!r}")


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    with archive.open("xl/sharedStrings.xml") as handle:
        for _, element in ElementTree.iterparse(handle):
            if element.tag == f"{_SHEET_NS}si":
                strings.append("".join(t.text or "" for t in element.iter(f"{_SHEET_NS}t")))
                element.clear()
    return strings


def _sheet_rows(handle: IO[bytes], shared: list[str]) -> Iterator[tuple[int, _SheetRow]]:
    """``(row number, cells)`` per row; cells are placed by their reference (``C7``) and
    converted to text only when read, so rows the caller skips cost little."""
    number = 0
    positions: dict[str, int] = {}
    for _, element in ElementTree.iterparse(handle):
        if element.tag != f"{_SHEET_NS}row":
            continue
        number = int(element.get("r") or number + 1)
        cells: dict[int, ElementTree.Element] = {}
        for cell in element:
            letters = (cell.get("r") or "").rstrip("0123456789")
            position = positions.get(letters)
            if position is None:
                position = len(cells) if not letters else _column_index(letters)
                if letters:
                    positions[letters] = position
            cells[position] = cell
        yield number, _SheetRow(cells, shared)
        element.clear()


def _column_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


class _SheetRow(Sequence[str]):
    """A worksheet row whose cells become text when read."""

    def __init__(self, cells: dict[int, ElementTree.Element], shared: list[str]) -> None:
        self._cells = cells
        self._shared = shared
        self._width = max(cells) + 1 if cells else 0

    def __len__(self) -> int:
        return self._width

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._width))]
        if not 0 <= index < self._width:
            raise IndexError(index)
        cell = self._cells.get(index)
        return "" if cell is None else _sheet_cell(cell, self._shared)


def _sheet_cell(cell: ElementTree.Element, shared: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_SHEET_NS}t")).strip()
    value = cell.find(f"{_SHEET_NS}v")
    text = "" if value is None or value.text is None else value.text.strip()
    if kind == "s" and text:
        return shared[int(text)].strip()
    if kind == "n" and text and not text.lstrip("-").isdigit():
        return _cell_text(float(text))  # 2015.0 or 9.110400101E9 -> as written in Excel
    return text


def _rows(
    raw_rows: Iterable[tuple[int, Sequence[object]]],
    source: str,
    keep: tuple[str, Callable[[str], bool]] | None,
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    iterator = iter(raw_rows)
    try:
        _, first = next(iterator)
    except StopIteration:
        raise ValueError(f"{source}: the file is empty") from None
    header = [_cell_text(cell).lower() for cell in first]
    while header and not header[-1]:
        header.pop()
    seen: set[str] = set()
    for position, name in enumerate(header):
        if name in seen:
            LOG.warning("%s: column %r appears twice; the first is used", source, name)
            header[position] = f"{name}__{position}"
        seen.add(name)
    if not header:
        raise ValueError(f"{source}: the header row is empty")
    width = len(header)
    keep_index = None
    if keep is not None:
        if keep[0] not in header:
            raise ValueError(f"{source}: no {keep[0]} column (header: {header[:12]} ...)")
        keep_index = header.index(keep[0])
    rows = []
    for number, cells in iterator:
        if keep_index is not None and keep is not None:
            value = cells[keep_index] if keep_index < len(cells) else None
            if not keep[1](_cell_text(value)):
                continue
        texts = [_cell_text(cell) for cell in cells[:width]]
        if not any(texts):
            continue
        texts += [""] * (width - len(texts))
        rows.append((number, dict(zip(header, texts, strict=True))))
    return header, rows


def _cell_text(value: object) -> str:
    """A cell as text: integral floats without ``.0`` (so codes and IDs read as written)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def _require(header: list[str], required: Iterable[str], source: str) -> None:
    absent = [name for name in required if name not in header]
    if absent:
        raise ValueError(f"{source}: missing columns {', '.join(absent)}")


def _lihtc_member(names: Iterable[str]) -> str | None:
    by_name = {Path(name).name.lower(): name for name in names}
    return by_name.get("lihtcpub.csv") or by_name.get("lihtcpub.xlsx")


def _tract_code(text: str) -> str:
    """A tract code with its leading zero restored when a numeric cell dropped it."""
    text = text.strip()
    return text.zfill(11) if text.isdigit() and len(text) == 10 else text


def _zip5(text: str) -> str:
    text = text.strip()
    digits = text.split("-")[0]
    return digits.zfill(5) if digits.isdigit() else text


def _code_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _number(text: str, column: str, row: int, source: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise ValueError(
            f"{source}: row {row}, column {column}: non-numeric value {text!r}"
        ) from None


def _integer(text: str, column: str, row: int, source: str) -> int:
    value = _number(text, column, row, source)
    if not value.is_integer():
        raise ValueError(f"{source}: row {row}, column {column}: {text!r} is not a whole number")
    return int(value)


def _float_or_nan(value: object, field: str, index: int, source: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return np.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{source}: feature {index}, {field}: not a number: {value!r}") from None


def _decode(
    cells: list[tuple[int, str]], codes: Mapping[str, str], *, column: str, source: str
) -> tuple[np.ndarray, Counter[str]]:
    """Numbers, with every code in ``codes`` and every other negative number -> NaN, counted."""
    values = np.full(len(cells), np.nan)
    found: Counter[str] = Counter()
    for index, (row, text) in enumerate(cells):
        text = text.strip()
        if not text:
            continue
        if text.upper() in codes:
            found[text.upper()] += 1
            continue
        value = _number(text, column, row, source)
        code = _code_text(value)
        if value < 0 or code in codes:
            found[code] += 1
            continue
        values[index] = value
    return values, found


def _missing_table(
    counts: Counter[tuple[str, str]], meanings: Mapping[str, str], source: str
) -> pd.DataFrame:
    """Tidy counts of decoded codes, logged per column and code and in total per code."""
    rows = []
    for (column, code), count in sorted(counts.items()):
        if not count:
            continue
        meaning = meanings.get(code)
        if meaning is None:
            meaning = "undocumented code"
            LOG.warning(
                "%s: %d value(s) of %s had the undocumented code %s; set to missing",
                source,
                count,
                column,
                code,
            )
        else:
            LOG.info(
                "%s: %d value(s) of %s were code %s (%s); set to missing",
                source,
                count,
                column,
                code,
                meaning,
            )
        rows.append((column, code, meaning, count))
    table = pd.DataFrame(rows, columns=list(MISSING_COLUMNS))
    table["count"] = table["count"].astype("int64")
    for code, total in table.groupby("code", sort=True)["count"].sum().items():
        LOG.info("%s: code %s: %d value(s) in all", source, code, total)
    return table


def _read_features(path: Path) -> list[dict[str, Any]]:
    """The features of an ArcGIS JSON file (Esri JSON or GeoJSON)."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        validate_arcgis_json(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return json.loads(path.read_bytes())["features"]


def _feature_attributes(feature: object, source: str) -> dict[str, Any]:
    if isinstance(feature, dict):
        attributes = feature.get("attributes", feature.get("properties"))
        if isinstance(attributes, dict):
            return attributes
    raise ValueError(f"{source}: a feature has no attributes or properties object")
