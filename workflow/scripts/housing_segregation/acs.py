"""ACS 5-year tables of tracts or block groups: the variables requested and their tidy,
explicit names.

ACS codes stop here: everything downstream uses the names in ``ACS_VARIABLES``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from . import vintages
from .units import TRACT, UnitLevel

log = logging.getLogger(__name__)

#: ACS variable (without the E/M suffix) -> tidy column name.
ACS_VARIABLES: dict[str, str] = {
    # B03002: Hispanic or Latino origin by race (universe: total population).
    "B03002_001": "total",
    "B03002_002": "not_hispanic",
    "B03002_003": "white_nh",
    "B03002_004": "black_nh",
    "B03002_005": "aian_nh",
    "B03002_006": "asian_nh",
    "B03002_007": "nhpi_nh",
    "B03002_008": "other_nh",
    "B03002_009": "two_or_more_nh",
    "B03002_010": "two_or_more_incl_other_nh",
    "B03002_011": "two_or_more_excl_other_nh",
    "B03002_012": "hispanic",
    # C17002: ratio of income to poverty level (universe: persons with poverty status).
    "C17002_001": "poverty_universe",
    "C17002_002": "poverty_ratio_under_0_50",
    "C17002_003": "poverty_ratio_0_50_to_0_99",
    "C17002_004": "poverty_ratio_1_00_to_1_24",
    "C17002_005": "poverty_ratio_1_25_to_1_49",
    "C17002_006": "poverty_ratio_1_50_to_1_84",
    "C17002_007": "poverty_ratio_1_85_to_1_99",
    "C17002_008": "poverty_ratio_2_00_and_over",
    # B25003: tenure (universe: occupied housing units, i.e. households).
    "B25003_001": "households",
    "B25003_002": "owners",
    "B25003_003": "renters",
    # B19013: median household income (inflation-adjusted dollars of the end year).
    "B19013_001": "median_household_income",
    # B01003: total population.
    "B01003_001": "total_population",
}

#: Derived counts: name -> (columns added, columns subtracted).
DERIVED_COUNTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nonwhite": (("total",), ("white_nh",)),
    "below_poverty": (("poverty_ratio_under_0_50", "poverty_ratio_0_50_to_0_99"), ()),
    "above_poverty": (
        ("poverty_universe",),
        ("poverty_ratio_under_0_50", "poverty_ratio_0_50_to_0_99"),
    ),
    "below_150_poverty": (
        (
            "poverty_ratio_under_0_50",
            "poverty_ratio_0_50_to_0_99",
            "poverty_ratio_1_00_to_1_24",
            "poverty_ratio_1_25_to_1_49",
        ),
        (),
    ),
}

#: Columns that are not counts of people or households.
NON_COUNT_COLUMNS = frozenset({"median_household_income"})

#: The Census Data API's annotation values: a jam value in place of an estimate or MOE.
#: https://www.census.gov/data/developers/data-sets/acs-1year/notes-on-acs-estimate-and-annotation-values.html
ANNOTATION_CODES: dict[int, str] = {
    -111111111: "estimate unavailable: geography or sample too small",
    -222222222: "MOE unavailable: too few sample observations",
    -333333333: "median falls in the lowest or upper interval of an open-ended distribution",
    -555555555: "MOE not applicable: estimate controlled",
    -666666666: "estimate unavailable: too few sample observations",
    -888888888: "estimate or MOE not applicable",
    -999999999: "estimate or MOE unavailable: too few sample observations",
}

#: The MOE annotation of a controlled estimate (no sampling error): read as an MOE of 0.
CONTROLLED_MOE = -555555555


def acs_tables() -> list[str]:
    """The ACS tables of :data:`ACS_VARIABLES` (B03002, C17002, ...), in order."""
    return list(dict.fromkeys(code.split("_")[0] for code in ACS_VARIABLES))


def check_tables_published(year: int, unit: UnitLevel = TRACT) -> None:
    """Every table the pipeline reads is published for ``unit`` in the ACS ``year`` release
    (the vintage table's ``tables`` or ``block_group_tables``); ValueError naming the missing
    ones otherwise."""
    published = vintages.vintage(year).tables_for(unit.name)
    missing = [table for table in acs_tables() if table not in published]
    if missing:
        listed = ", ".join(sorted(published)) or "none"
        raise ValueError(
            f"ACS {year}: table(s) {', '.join(missing)} are not published for "
            f"{unit.label}s in this release (acs_vintages.yaml lists {listed})"
        )


def api_variables(year: int | None = None, unit: UnitLevel = TRACT) -> list[str]:
    """The API ``get`` list: estimate and margin of error for each variable, in order.

    With ``year``, the release must publish every table for ``unit``
    (:func:`check_tables_published`)."""
    if year is not None:
        check_tables_published(int(year), unit)
    return [f"{code}{suffix}" for code in ACS_VARIABLES for suffix in ("E", "M")]


def _api_rows(raw: object, source: str, unit: UnitLevel) -> tuple[list[str], list[list[str]]]:
    if not (isinstance(raw, list) and raw and all(isinstance(row, list) for row in raw)):
        raise ValueError(f"{source}: not a Census API table (expected a JSON array of arrays)")
    header, rows = [str(c) for c in raw[0]], raw[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{source}: row {number} has {len(row)} values, the header has {len(header)}"
            )
    missing = [c for c in [*api_variables(), "NAME", *unit.api_columns] if c not in header]
    if missing:
        raise ValueError(f"{source}: missing columns {', '.join(missing)}")
    if not rows:
        raise ValueError(f"{source}: the table has a header but no rows")
    return header, rows


#: Every separator the API has used in NAME (the vintage table says which, year by year).
NAME_SEPARATORS = (", ", "; ")


def _split_name(name: str, separator: str, unit: UnitLevel) -> tuple[tuple[str, ...], bool]:
    """Split an API NAME into its names, innermost first: (tract, county, state), or (block
    group, tract, county, state). By the release's ``separator``
    (``vintages.vintage(year).name_separator``: ", " up to 2021, "; " from 2022), or else by
    another separator the API has used. The flag says whether ``separator`` was the one."""
    for candidate in (separator, *(s for s in NAME_SEPARATORS if s != separator)):
        parts = [p.strip() for p in name.split(candidate.strip())]
        if len(parts) == unit.name_parts:
            return tuple(parts), candidate == separator
    expected = ", ".join(reversed(unit.api_columns))
    raise ValueError(
        f"unexpected {unit.label} NAME {name!r}: expected {expected} separated by "
        f"{separator.strip()!r}"
    )


def _to_numeric(values: pd.Series, column: str, source: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    unparsed = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if unparsed.any():
        example = values[unparsed].iloc[0]
        raise ValueError(f"{source}: column {column} holds a non-numeric value {example!r}")
    return numbers


def tidy_acs_units(
    raw: object, *, year: int, unit: UnitLevel = TRACT, source: str = "ACS table"
) -> pd.DataFrame:
    """Turn a Census API response of tracts or block groups (``unit``) into a tidy table
    with explicit column names.

    Annotation codes become missing values; their counts are logged per code and column.
    Returns one row per unit with ``geoid``, names, counts and ``<count>_moe`` columns,
    plus the derived counts in ``DERIVED_COUNTS`` with MOEs by the Census approximation
    for sums and differences (root of the sum of squared MOEs). A block group's ``name``
    holds its tract's too ("Block Group 1, Census Tract 4001.01"), and ``tract_geoid`` its
    tract's GEOID.
    """
    release = vintages.vintage(year)
    check_tables_published(year, unit)
    header, rows = _api_rows(raw, source, unit)
    table = pd.DataFrame(rows, columns=header, dtype="string")
    geoid = table[list(unit.api_columns)].agg("".join, axis=1)
    malformed = geoid.str.len().ne(unit.geoid_digits)
    if malformed.any():
        raise ValueError(
            f"{source}: malformed {unit.label} GEOID {geoid[malformed].iloc[0]!r} "
            f"(expected {unit.geoid_digits} digits)"
        )
    if geoid.duplicated().any():
        raise ValueError(
            f"{source}: duplicate {unit.label} GEOID {geoid[geoid.duplicated()].iloc[0]}"
        )
    split = [_split_name(str(name), release.name_separator, unit) for name in table["NAME"]]
    unexpected = sum(not as_expected for _, as_expected in split)
    if unexpected:
        log.warning(
            "%s: %d NAME(s) are not separated by %r, the API's style for ACS %d in "
            "acs_vintages.yaml; split by another separator the API has used",
            source,
            unexpected,
            release.name_separator,
            year,
        )
    names = pd.DataFrame([parts for parts, _ in split], columns=list(reversed(unit.api_columns)))
    own_names = names[list(reversed(unit.api_columns[2:]))].agg(", ".join, axis=1)
    tidy = pd.DataFrame(
        {
            "year": np.int64(year),
            "geography_level": unit.name,
            "geoid": geoid.astype(str),
            "name": own_names,
            "state_fips": table["state"].astype(str),
            "state_name": names["state"],
            "county_geoid": (table["state"] + table["county"]).astype(str),
            "county_name": names["county"],
        }
    )
    if unit.name != "tract":
        tidy["tract_geoid"] = geoid.str[:11].astype(str)
    annotations: Counter[tuple[int, str]] = Counter()
    for code, column in ACS_VARIABLES.items():
        for suffix, target in (("E", column), ("M", f"{column}_moe")):
            values = _to_numeric(table[f"{code}{suffix}"], f"{code}{suffix}", source)
            for jam in ANNOTATION_CODES:
                hits = int((values == jam).sum())
                if hits:
                    annotations[(jam, target)] += hits
            if suffix == "M":
                # A controlled estimate has no sampling error: its MOE is exactly zero.
                values = values.mask(values == CONTROLLED_MOE, 0)
            tidy[target] = values.mask(values.isin(list(ANNOTATION_CODES))).astype("float64")
    for (jam, target), hits in sorted(annotations.items(), key=lambda item: item[0][1]):
        outcome = (
            "set to 0" if jam == CONTROLLED_MOE and target.endswith("_moe") else "set to missing"
        )
        log.info(
            "%s: %d value(s) of %s were annotation code %d (%s); %s",
            source,
            hits,
            target,
            jam,
            ANNOTATION_CODES[jam],
            outcome,
        )
    log.info("%s: %d annotation value(s) in all", source, annotations.total())
    negative = [
        c for c in ACS_VARIABLES.values() if c not in NON_COUNT_COLUMNS and (tidy[c] < 0).any()
    ]
    if negative:
        raise ValueError(f"{source}: negative counts that are not annotation codes in {negative}")
    for name, (added, subtracted) in DERIVED_COUNTS.items():
        parts = [*added, *subtracted]
        tidy[name] = tidy[list(added)].sum(axis=1, min_count=len(added)) - tidy[
            list(subtracted)
        ].sum(axis=1, min_count=0)
        tidy.loc[tidy[parts].isna().any(axis=1), name] = np.nan
        tidy[f"{name}_moe"] = np.sqrt((tidy[[f"{p}_moe" for p in parts]] ** 2).sum(axis=1))
        tidy.loc[tidy[[f"{p}_moe" for p in parts]].isna().any(axis=1), f"{name}_moe"] = np.nan
    return tidy.sort_values("geoid", ignore_index=True)


def read_acs_units(path: str | Path, *, year: int, unit: UnitLevel = TRACT) -> pd.DataFrame:
    """Read a Census API JSON file from disk and tidy it (see ``tidy_acs_units``)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    return tidy_acs_units(raw, year=year, unit=unit, source=str(path))
