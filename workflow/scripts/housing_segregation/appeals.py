r"""Connecticut's Affordable Housing Appeals List (CGS 8-30g), read from the state's workbooks.

Each year the Department of Housing publishes, per town, the housing units of the last
decennial census, the assisted units by kind (government-assisted, tenant rental assistance,
CHFA/USDA mortgages, deed-restricted), their total and the total as a percent of the housing
units. Towns at 10% or more are exempt from the appeals procedure. `read_appeals_list` turns
one published workbook into one row per town; `read_appeals_lists` stacks the years;
`percent_check` recomputes the published total and percent; `attach_town_geoids` adds the
Census county-subdivision GEOID.

Layouts found in the 2002-2019 workbooks (rows are 1-based spreadsheet rows)
------------------------------------------------------------------------------
The header row and columns are found by their labels (`HEADER_PATTERNS`, matched on the label
with everything but letters, digits and "%" removed, over up to three stacked header rows), so
every year below parses with one code path. The list is the first visible sheet with a
complete header.

- 2002: one header row; A holds row numbers, B the town; "2000 CENSUS HOUSING UNITS",
  "GOVERNMENTALLY ASSISTED UNITS", "CHFA/FmHA MORTAGES" (sic), "DEED RESTRICTED", "TOTAL
  ASSISTED", "PERCENT". No tenant-rental-assistance column (2002-2010). Alphabetical, no
  exemption marking, no totals row. Many component cells are blank (17 government-assisted,
  2 CHFA, 134 deed-restricted) where later lists print 0.
- 2003: sheet "Sorted" (read) and sheet "Alphabetical" (two-row header, same figures). The
  exempt towns come first, alphabetically, then the rest. Blanks as in 2002.
- 2004-2006: as 2003 with an unlabelled totals row at the end (no town name, statewide sums).
  Blanks until 2005 (deed-restricted); from 2006 zeros are printed as 0. 2005 ("Amended"):
  Danbury's percent is a typed 0.1006, not a formula.
- 2007: a "Subtotal" row (the non-exempt towns) and a "Total" row whose every cell is #REF!.
- 2008-2009: title-case labels ("CHFA Mortgages", "Deed Restricted Units"), a no-break space
  in A1; percents are typed 4-decimal fractions, not formulas (2008-2010); "Subtotal" and
  "Total" rows (2008's subtotal repeats the total's assisted figures beside the non-exempt
  towns' housing units).
- 2010: header in row 2; explicit headings "Towns which are exempt under Section 8-30g CGS"
  (row 4) and "Towns which are not exempt ..." (row 37), written in column D; a "Subtotal"
  row between them holding numbers stored as text ("\n\n100,001"); "Subtotal" and "Total"
  rows at the end.
- 2011: sheet "Sort for publication" (of five; the others are working sheets). The base is
  now the 2010 census; a "Rental Assistance" column appears between government-assisted and
  CHFA, shifting the later columns; deed-restricted is labelled "Restricted Units"; a "Total -
  All" row and a footnote row ("* includes units developed or assisted by CHFA, DECD, HUD,
  USDA ...") end the sheet.
- 2012-2013: sheet "Sort for Correct Publication"; no row-number column, the town is in A;
  "Tenant Rental Assistance"; a "Total-All" row. 2013's header says "2000 CENSUS HOUSING
  UNITS" but the figures are the 2010 census counts, as in 2012; 2013 sorts Westbrook before
  West Hartford. 2012 highlights two percent cells (Stafford, Stratford) without a note.
- 2014-2016: sheet "Sort for Publication"; labels "Total Housing Units 2010 Census",
  "Governmentally Assisted", "Single Family CHFA /USDA Mortgages", "Deed Restricted Units",
  "Totally Assisted Units", "Percent Affordable"; a "Total" row. The 2012 and 2014-2016
  totals rows give statewide housing units beside assisted figures that are neither the
  statewide nor the non-exempt sums of the town rows (2012: 16,334 government-assisted
  against 86,209 statewide and 19,332 non-exempt). The 2015 and 2016 workbooks
  also hold "Sort for on-line" sheets titled "... - Exempt Municipalities" and "... -
  Non-Exempt Municipalities", which agree with the publication sheet's order and figures.
- 2017-2019: PDF tables converted by tabula (sheet "tabula-..."): labels broken over lines
  inside the cell, sometimes mid-word ("Governm\rentally", "Mortgage\rs"); 2017 drops
  "Single"; percents are typed 4-decimal fractions; no totals or notes. 2017 lists the exempt
  towns first but prints Windham last, after Woodstock; 2017 leaves Chaplin's
  government-assisted cell blank. 2018 and 2019 are alphabetical with no exemption marking.

Every year has all 169 towns once, spelled as the Census spells them.

Rules
-----
Rows. Blank rows are skipped. A row with a text cell holding the word "Total", "Subtotal" or
"Grand total" is a totals row and is dropped. A row with no town name and no figures is a
note or a section heading, and is dropped (after reading any exemption heading). A row with
figures but no town name is dropped only if its housing units equal the sum over the town
rows above (all of them, or those of the current section); otherwise it raises. A repeated
header row is skipped. A town listed twice in one list raises.

Town names. A published name is matched to the Census spelling by `town_key` (case,
spacing, punctuation, trailing footnote markers such as "*", leading "E."/"W."/"N."/"S.",
"Town of", and `HISTORICAL_TOWN_NAMES`); the printed form is kept in ``town_name_published``
and a marker is not read as meaning anything (no 2002-2019 list has one). A name that matches
no town is kept, title-cased, for `attach_town_geoids` to report.

Cells (counts). A number must be a whole number >= 0. Text holding a number is read after
dropping thousands separators, spaces and line breaks ("1,234"). A blank cell, or one holding
only spaces or a dash, is recorded as missing (<NA>), never as zero: the 2002-2005 and 2017
blanks stand where later lists print 0, and the state's totals treat them as zero, but the
list does not say so. Anything else (words, error values such as #REF!, dates, fractions,
negative numbers) raises a ValueError naming the file, sheet, row and column. When a list has
no tenant-rental-assistance column (2002-2010) that column is <NA> for the year; those years'
government-assisted units appear to include rental assistance (Hartford: 17,428 in 2010;
9,415 + 7,577 in 2011).

Cells (percent). ``percent_published`` is in percent. The lists store fractions formatted
"0.00%" (0.1025 shown as 10.25%): a number formatted as a percent is multiplied by 100, as is
a column of unformatted numbers that are all at most 1; text such as "10.25%" is read as
written. The stored value is kept as is: full precision where the list computes it with a
formula (2002-2007, 2011-2016), the printed two decimals where it is typed in (2008-2010,
2017-2019, Danbury 2005).

Exempt (nullable boolean). Where the list has section headings that say "exempt" or "not
exempt"/"non-exempt" (2010; the 2015-2016 on-line sheets), each town takes the heading above
it. Otherwise the order tells: the exempt towns alphabetically, then the others (2003-2009,
2011-2017), so the first alphabetical run is exempt and the second is not. A town printed
after the second run gets <NA> (2017: Windham). A list in one alphabetical run does not mark
exemption and every town gets <NA> (2002, 2018, 2019). An inversion counts as a run break only
if it is one both with and without the spaces in names (2013's Westbrook before West Hartford
is not). Wherever a list marks exemption, the exempt towns are exactly those at 10% or more.

Percent check. The state prints percents to two decimals: every typed value of 2008-2010 and
2017-2019 is 100 x total / housing units rounded to two decimals, except the three
towns below. `percent_check` therefore flags a percent more than 0.005 points from the
recomputed ratio (`PERCENT_TOLERANCE`), and any total that differs from the sum of the four
components (blanks adding nothing). In 2002-2019 it finds four town-years:

- 2007 Hamden: total 1,892, components sum to 1,897 (1,499 + 394 + 4); the percent follows
  the published total;
- 2009 Montville: 4.10% printed, 4.0852% recomputed (+0.0148);
- 2010 New Haven: 29.00% printed, 29.0059% recomputed (-0.0059);
- 2010 Stratford: 5.70% printed, 5.6904% recomputed (+0.0096).

None of them moves a town across 10%: in every year the towns at 10% or more are the same by
the published and by the recomputed percent (30 in 2019).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import xlrd

log = logging.getLogger(__name__)

#: Connecticut's 169 towns as the Census spells them (``NAME`` of cb_2020_09_cousub_500k).
CT_TOWN_NAMES = (
    "Andover", "Ansonia", "Ashford", "Avon", "Barkhamsted", "Beacon Falls", "Berlin", "Bethany",
    "Bethel", "Bethlehem", "Bloomfield", "Bolton", "Bozrah", "Branford", "Bridgeport",
    "Bridgewater", "Bristol", "Brookfield", "Brooklyn", "Burlington", "Canaan", "Canterbury",
    "Canton", "Chaplin", "Cheshire", "Chester", "Clinton", "Colchester", "Colebrook", "Columbia",
    "Cornwall", "Coventry", "Cromwell", "Danbury", "Darien", "Deep River", "Derby", "Durham",
    "East Granby", "East Haddam", "East Hampton", "East Hartford", "East Haven", "East Lyme",
    "East Windsor", "Eastford", "Easton", "Ellington", "Enfield", "Essex", "Fairfield",
    "Farmington", "Franklin", "Glastonbury", "Goshen", "Granby", "Greenwich", "Griswold", "Groton",
    "Guilford", "Haddam", "Hamden", "Hampton", "Hartford", "Hartland", "Harwinton", "Hebron",
    "Kent", "Killingly", "Killingworth", "Lebanon", "Ledyard", "Lisbon", "Litchfield", "Lyme",
    "Madison", "Manchester", "Mansfield", "Marlborough", "Meriden", "Middlebury", "Middlefield",
    "Middletown", "Milford", "Monroe", "Montville", "Morris", "Naugatuck", "New Britain",
    "New Canaan", "New Fairfield", "New Hartford", "New Haven", "New London", "New Milford",
    "Newington", "Newtown", "Norfolk", "North Branford", "North Canaan", "North Haven",
    "North Stonington", "Norwalk", "Norwich", "Old Lyme", "Old Saybrook", "Orange", "Oxford",
    "Plainfield", "Plainville", "Plymouth", "Pomfret", "Portland", "Preston", "Prospect", "Putnam",
    "Redding", "Ridgefield", "Rocky Hill", "Roxbury", "Salem", "Salisbury", "Scotland", "Seymour",
    "Sharon", "Shelton", "Sherman", "Simsbury", "Somers", "South Windsor", "Southbury",
    "Southington", "Sprague", "Stafford", "Stamford", "Sterling", "Stonington", "Stratford",
    "Suffield", "Thomaston", "Thompson", "Tolland", "Torrington", "Trumbull", "Union", "Vernon",
    "Voluntown", "Wallingford", "Warren", "Washington", "Waterbury", "Waterford", "Watertown",
    "West Hartford", "West Haven", "Westbrook", "Weston", "Westport", "Wethersfield",
    "Willington", "Wilton", "Winchester", "Windham", "Windsor", "Windsor Locks", "Wolcott",
    "Woodbridge", "Woodbury", "Woodstock",
)  # fmt: skip

#: Other names a town has gone by, as keys of `town_key`: the Census name they stand for.
#: East Hampton was Chatham until 1915; Winsted, Winchester's city, merged with it in 1917;
#: "Marlboro" is a common short spelling of Marlborough.
HISTORICAL_TOWN_NAMES = {
    "chatham": "East Hampton",
    "winsted": "Winchester",
    "marlboro": "Marlborough",
}

#: The four kinds of assisted unit whose sum is the published total.
COMPONENT_COLUMNS = (
    "government_assisted",
    "tenant_rental_assistance",
    "chfa_usda_mortgages",
    "deed_restricted",
)
COUNT_COLUMNS = ("housing_units", *COMPONENT_COLUMNS, "total_assisted")
OUTPUT_COLUMNS = (
    "year",
    "town_name",
    *COUNT_COLUMNS,
    "percent_published",
    "exempt",
    "town_name_published",
    "source_file",
    "source_sheet",
    "source_row",
)

#: Header labels, matched against a label lowercased with everything but letters, digits and
#: "%" removed (so "Governm\\rentally\\rAssisted" reads "governmentallyassisted").
HEADER_PATTERNS = {
    "town_name": re.compile(r"^(town|towns|townname|municipality|municipalities)$"),
    "housing_units": re.compile(r"housingunits"),
    "government_assisted": re.compile(r"government(ally)?assisted"),
    "tenant_rental_assistance": re.compile(r"rentalassistance"),
    "chfa_usda_mortgages": re.compile(r"mort?gages?|mortages?|chfa|usda|fmha"),
    "deed_restricted": re.compile(r"restricted"),
    "total_assisted": re.compile(r"total(ly)?assisted"),
    "percent_published": re.compile(r"percent|%"),
}
#: The one column a list may lack: the lists before 2011 have no tenant rental assistance.
OPTIONAL_FIELDS = ("tenant_rental_assistance",)
REQUIRED_FIELDS = tuple(f for f in HEADER_PATTERNS if f not in OPTIONAL_FIELDS)
#: How each field is named in error messages.
FIELD_LABELS = {
    "town_name": "town ('Town')",
    "housing_units": "housing units ('Total Housing Units 2010 Census')",
    "government_assisted": "government-assisted units ('Governmentally Assisted')",
    "tenant_rental_assistance": "tenant rental assistance ('Tenant Rental Assistance')",
    "chfa_usda_mortgages": "CHFA/USDA mortgages ('CHFA/USDA Mortgages')",
    "deed_restricted": "deed-restricted units ('Deed Restricted Units')",
    "total_assisted": "total assisted units ('Total Assisted')",
    "percent_published": "percent ('Percent Affordable')",
}
#: How far down a sheet the header row may be, and how many rows its labels may span.
HEADER_SEARCH_ROWS = 40
HEADER_MAX_DEPTH = 3

#: Half a unit in the second decimal of a percent: the state prints percents to two decimals.
PERCENT_TOLERANCE = 0.005
#: Slack for binary floating point when comparing with a tolerance.
_FLOAT_SLACK = 1e-9

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_TOTAL_RE = re.compile(r"\b(grand\s+|sub\s*-?\s*)?totals?\b", re.IGNORECASE)
_NOT_EXEMPT_RE = re.compile(r"\bnon\s*-?\s*exempt\b|\bnot\s+exempt\b", re.IGNORECASE)
_EXEMPT_RE = re.compile(r"\bexempt\b", re.IGNORECASE)
_DASHES = {"-", "\u2013", "\u2014", "--"}
_NUMBER_RE = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)%?$")
_NAME_MARKERS_RE = re.compile(r"[\s*\u2020\u2021\d]+$")
_DIRECTIONS = {"e": "east", "w": "west", "n": "north", "no": "north", "s": "south", "so": "south"}


@dataclass(frozen=True)
class _Cell:
    """One spreadsheet cell, whichever library read it."""

    kind: str  # "empty", "number", "text", "bool", "date" or "error"
    value: object = None
    percent_format: bool = False


_EMPTY = _Cell("empty")


# --------------------------------------------------------------------------------------------
# Reading workbooks
# --------------------------------------------------------------------------------------------


def _read_workbook(path: Path) -> list[tuple[str, list[list[_Cell]]]]:
    """The visible sheets of a workbook as (name, rows of cells), by the file's magic bytes."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError as error:
        raise ValueError(f"{path}: cannot open ({error})") from error
    if magic == _OLE2_MAGIC:
        return _read_xls(path)
    if magic[:4] == _ZIP_MAGIC:
        return _read_xlsx(path)
    raise ValueError(f"{path}: not an Excel workbook (neither .xls nor .xlsx file signature)")


def _read_xls(path: Path) -> list[tuple[str, list[list[_Cell]]]]:
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except Exception as error:  # xlrd raises several types for damaged files
        raise ValueError(f"{path}: cannot read the .xls workbook ({error})") from error

    def is_percent(sheet, r: int, c: int) -> bool:
        xf = book.xf_list[sheet.cell_xf_index(r, c)]
        number_format = book.format_map.get(xf.format_key)
        return number_format is not None and "%" in number_format.format_str

    sheets = []
    for sheet in book.sheets():
        if sheet.visibility != 0:
            continue
        rows = []
        for r in range(sheet.nrows):
            row = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(_EMPTY)
                elif cell.ctype == xlrd.XL_CELL_NUMBER:
                    row.append(_Cell("number", float(cell.value), is_percent(sheet, r, c)))
                elif cell.ctype == xlrd.XL_CELL_TEXT:
                    row.append(_Cell("text", cell.value))
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(_Cell("bool", bool(cell.value)))
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(_Cell("date", cell.value))
                else:
                    row.append(_Cell("error", xlrd.error_text_from_code.get(cell.value, "#ERR")))
            rows.append(row)
        sheets.append((sheet.name, rows))
    return sheets


def _read_xlsx(path: Path) -> list[tuple[str, list[list[_Cell]]]]:
    sheets = []
    # A file object, not the path: openpyxl refuses a path that does not end in .xlsx.
    with open(path, "rb") as handle:
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises several types for damaged files
            raise ValueError(f"{path}: cannot read the .xlsx workbook ({error})") from error
        try:
            for sheet in book.worksheets:
                if sheet.sheet_state != "visible":
                    continue
                rows = [[_xlsx_cell(cell) for cell in cells] for cells in sheet.iter_rows()]
                sheets.append((sheet.title, rows))
        finally:
            book.close()
    return sheets


def _xlsx_cell(cell) -> _Cell:
    value = cell.value
    if value is None:
        return _EMPTY
    if getattr(cell, "data_type", None) == "e":
        return _Cell("error", str(value))
    if isinstance(value, bool):
        return _Cell("bool", value)
    if isinstance(value, int | float):
        return _Cell("number", float(value), "%" in (getattr(cell, "number_format", "") or ""))
    if isinstance(value, str):
        return _Cell("text", value)
    return _Cell("date", value)


# --------------------------------------------------------------------------------------------
# Header detection
# --------------------------------------------------------------------------------------------


def _squash(label: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", label.lower())


def _cell_text(row: list[_Cell], column: int) -> str:
    if column >= len(row) or row[column].kind != "text":
        return ""
    return str(row[column].value).replace("\xa0", " ").strip()


def _match_fields(labels: dict[int, str]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Fields matched by exactly one column (and that column by no other field), and the rest."""
    hits = {
        field: [c for c, label in labels.items() if pattern.search(_squash(label))]
        for field, pattern in HEADER_PATTERNS.items()
    }
    column_fields: dict[int, int] = {}
    for columns in hits.values():
        for c in columns:
            column_fields[c] = column_fields.get(c, 0) + 1
    unique = {
        field: columns[0]
        for field, columns in hits.items()
        if len(columns) == 1 and column_fields[columns[0]] == 1
    }
    return unique, hits


@dataclass
class _Header:
    row: int  # 0-based index of the header's last row
    depth: int
    columns: dict[str, int]
    hits: dict[str, list[int]]


def _find_header(rows: list[list[_Cell]]) -> tuple[_Header | None, _Header | None]:
    """The first complete header in the sheet, else None and the best partial candidate."""
    best: _Header | None = None
    for r in range(min(len(rows), HEADER_SEARCH_ROWS)):
        for depth in range(1, HEADER_MAX_DEPTH + 1):
            if r - depth + 1 < 0:
                break
            width = max(len(rows[i]) for i in range(r - depth + 1, r + 1))
            labels = {}
            for c in range(width):
                parts = [_cell_text(rows[i], c) for i in range(r - depth + 1, r + 1)]
                label = " ".join(p for p in parts if p)
                if label:
                    labels[c] = label
            columns, hits = _match_fields(labels)
            candidate = _Header(r, depth, columns, hits)
            if all(f in columns for f in REQUIRED_FIELDS):
                return candidate, None
            if "town_name" in columns and (best is None or len(columns) > len(best.columns)):
                best = candidate
    return None, best


def _header_error(path: Path, sheet: str, best: _Header) -> str:
    missing = [f for f in REQUIRED_FIELDS if f not in best.columns]
    problems = []
    for field in missing:
        if len(best.hits[field]) > 1:
            cols = ", ".join(_column_letter(c) for c in best.hits[field])
            problems.append(f"{FIELD_LABELS[field]} is ambiguous (columns {cols})")
        else:
            problems.append(f"no column for {FIELD_LABELS[field]}")
    return f"{path}: sheet {sheet!r}, header row {best.row + 1}: " + "; ".join(problems)


def _column_letter(column: int) -> str:
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --------------------------------------------------------------------------------------------
# Town names
# --------------------------------------------------------------------------------------------


def _strip_markers(name: str) -> str:
    """A published town name without footnote markers (trailing *, daggers or digits)."""
    return _NAME_MARKERS_RE.sub("", name.replace("\xa0", " ")).strip()


def town_key(name: str) -> str:
    """A matching key for a town name: case, spacing, punctuation and footnote markers removed,
    leading E./W./N./No./S./So. spelled out, and "Town of …" or "… (Town)" dropped."""
    text = _strip_markers(str(name)).lower().replace("&", " and ")
    text = re.sub(r"^town\s+of\s+", "", text)
    text = re.sub(r"\s+\(?town\)?$", "", text)
    words = re.findall(r"[a-z]+", text)
    if len(words) > 1 and words[0] in _DIRECTIONS:
        words[0] = _DIRECTIONS[words[0]]
    return "".join(words)


_CANONICAL_BY_KEY = {town_key(n): n for n in CT_TOWN_NAMES} | HISTORICAL_TOWN_NAMES


def census_town_name(name: str) -> str | None:
    """The Census spelling of a published Connecticut town name, or None if unknown."""
    return _CANONICAL_BY_KEY.get(town_key(name))


def _display_name(name: str) -> str:
    """A published name the Census list does not know, title-cased without markers."""
    return " ".join(w[:1].upper() + w[1:].lower() for w in _strip_markers(name).split())


# --------------------------------------------------------------------------------------------
# Cells to numbers
# --------------------------------------------------------------------------------------------


class _Missing:
    """A blank or dash: recorded as missing."""


_MISSING = _Missing()


def _number(cell: _Cell, where: str) -> float | _Missing | tuple[float, str]:
    """A cell as a number; blanks and dashes as missing; anything else raises.

    Numbers stored as text are read after dropping thousands separators, spaces and line
    breaks; a text number ending in "%" comes back as (value, "%")."""
    if cell.kind == "empty":
        return _MISSING
    if cell.kind == "number":
        return float(cell.value)
    if cell.kind == "text":
        text = re.sub(r"[\s,\xa0]", "", str(cell.value))
        if text == "" or text in _DASHES:
            return _MISSING
        if _NUMBER_RE.match(text):
            if text.endswith("%"):
                return (float(text[:-1]), "%")
            return float(text)
        raise ValueError(f"{where}: cannot read {cell.value!r} as a number")
    raise ValueError(f"{where}: cannot read a {cell.kind} cell ({cell.value!r}) as a number")


def _count(cell: _Cell, where: str):
    value = _number(cell, where)
    if value is _MISSING:
        return pd.NA
    if isinstance(value, tuple):
        raise ValueError(f"{where}: a count cannot be a percent ({cell.value!r})")
    if value < 0 or abs(value - round(value)) > 1e-9:
        raise ValueError(f"{where}: {cell.value!r} is not a count of units")
    return round(value)


# --------------------------------------------------------------------------------------------
# One workbook
# --------------------------------------------------------------------------------------------


def year_from_file_name(path: str | Path) -> int:
    """The list's year: the 4-digit prefix of the file name ("2019 Appeals-List….xls")."""
    name = Path(path).name
    match = re.match(r"(\d{4})(?!\d)", name)
    if not match:
        raise ValueError(f"{path}: the file name does not start with a 4-digit year; pass year=")
    return int(match.group(1))


def read_appeals_list(
    path: str | Path, year: int | None = None, *, sheet: str | None = None
) -> pd.DataFrame:
    """One published Affordable Housing Appeals List workbook as one row per town.

    ``path`` may be an .xls (BIFF, read with xlrd) or .xlsx (read with openpyxl) workbook; the
    format is told by the file's first bytes, not its extension. ``year`` defaults to the file
    name's 4-digit prefix. ``sheet`` picks a sheet by name; by default the list is the first
    visible sheet, in workbook order, with a complete header (the 2003 workbook's second sheet
    repeats the list alphabetically; the later sheets of the 2011, 2013, 2015 and 2016
    workbooks are the department's working sheets).

    Columns (see the module docstring for the rules):

    - ``year`` (int64), ``town_name`` (Census spelling; a name the Census list does not know is
      kept title-cased, for `attach_town_geoids` to report);
    - ``housing_units``, ``government_assisted``, ``tenant_rental_assistance``,
      ``chfa_usda_mortgages``, ``deed_restricted``, ``total_assisted`` (Int64, <NA> where the
      cell is blank or a dash, or the list has no such column);
    - ``percent_published`` (float64, in percent: 10.25 means 10.25%);
    - ``exempt`` (boolean, <NA> where the list does not mark exemption);
    - audit: ``town_name_published`` (the name as printed), ``source_file`` (file name),
      ``source_sheet``, ``source_row`` (1-based spreadsheet row).

    Raises ValueError naming the file (and row and column) when the header or a cell cannot be
    read, or a town appears twice.
    """
    path = Path(path)
    if year is None:
        year = year_from_file_name(path)
    sheets = _read_workbook(path)
    if sheet is not None:
        sheets = [s for s in sheets if s[0] == sheet]
        if not sheets:
            raise ValueError(f"{path}: no visible sheet named {sheet!r}")
    chosen = None
    best: tuple[str, _Header] | None = None
    for name, rows in sheets:
        header, partial = _find_header(rows)
        if header is not None:
            chosen = (name, rows, header)
            break
        if partial is not None and (best is None or len(partial.columns) > len(best[1].columns)):
            best = (name, partial)
    if chosen is None:
        if best is not None and len(best[1].columns) >= 3:
            raise ValueError(_header_error(path, best[0], best[1]))
        raise ValueError(
            f"{path}: no header row found (a row with a 'Town' column and the columns "
            f"{', '.join(FIELD_LABELS[f] for f in REQUIRED_FIELDS[1:])}) in the first "
            f"{HEADER_SEARCH_ROWS} rows of any visible sheet"
        )
    sheet_name, rows, header = chosen
    return _parse_rows(path, int(year), sheet_name, rows, header)


def _parse_rows(
    path: Path, year: int, sheet_name: str, rows: list[list[_Cell]], header: _Header
) -> pd.DataFrame:
    columns = header.columns
    town_column = columns["town_name"]
    numeric_fields = [f for f in (*COUNT_COLUMNS, "percent_published") if f in columns]
    records: list[dict] = []
    percent_cells: list[tuple[_Cell, str]] = []
    sections: list[bool | None] = []
    section: bool | None = None
    headings_seen = False

    def heading(texts: list[str]) -> bool | None:
        joined = " ".join(texts)
        if _NOT_EXEMPT_RE.search(joined):
            return False
        return True if _EXEMPT_RE.search(joined) else None

    def cell(row: list[_Cell], column: int) -> _Cell:
        return row[column] if column < len(row) else _EMPTY

    # A title above the header may open the first section ("… - Exempt Municipalities").
    for r in range(header.row - header.depth + 1):
        found = heading([_cell_text(rows[r], c) for c in range(len(rows[r]))])
        if found is not None:
            section, headings_seen = found, True

    for r in range(header.row + 1, len(rows)):
        row = rows[r]
        if all(c.kind == "empty" or (c.kind == "text" and not str(c.value).strip()) for c in row):
            continue
        texts = [str(c.value).replace("\xa0", " ").strip() for c in row if c.kind == "text"]
        if any(_TOTAL_RE.search(t) for t in texts):
            log.debug("%s: row %d is a totals row", path.name, r + 1)
            continue
        name = _cell_text(row, town_column)
        has_figures = any(
            cell(row, columns[f]).kind == "number"
            or (
                cell(row, columns[f]).kind == "text"
                and _NUMBER_RE.match(re.sub(r"[\s,\xa0]", "", str(cell(row, columns[f]).value)))
            )
            for f in numeric_fields
        )
        if name and HEADER_PATTERNS["town_name"].match(_squash(name)):
            continue  # the header repeated (page breaks)
        known = census_town_name(name) if name else None
        if not known and not has_figures:
            # A notes row or a section heading ("Towns which are exempt …").
            found = heading(texts)
            if found is not None:
                section, headings_seen = found, True
            else:
                log.debug("%s: row %d is a note: %s", path.name, r + 1, " ".join(texts))
            continue
        if not name:
            # Figures without a town name: only a total of the rows above may look like that.
            units = _number(cell(row, columns["housing_units"]), f"{path}: row {r + 1}")
            sums = {
                sum(rec["housing_units"] for rec in records if rec["housing_units"] is not pd.NA),
                sum(
                    rec["housing_units"]
                    for rec, s in zip(records, sections, strict=True)
                    if s == section and rec["housing_units"] is not pd.NA
                ),
            }
            if isinstance(units, float) and units in sums:
                log.debug("%s: row %d is an unlabelled totals row", path.name, r + 1)
                continue
            raise ValueError(
                f"{path}: sheet {sheet_name!r}, row {r + 1} has figures but no town name, "
                "and is not a total of the rows above"
            )
        record: dict = {"town_name_published": name, "source_row": r + 1}
        record["town_name"] = known or _display_name(name)
        for field in COUNT_COLUMNS:
            if field not in columns:
                record[field] = pd.NA
                continue
            where = (
                f"{path}: sheet {sheet_name!r}, row {r + 1}, column "
                f"{_column_letter(columns[field])} ({field})"
            )
            record[field] = _count(cell(row, columns[field]), where)
        where = (
            f"{path}: sheet {sheet_name!r}, row {r + 1}, column "
            f"{_column_letter(columns['percent_published'])} (percent_published)"
        )
        percent_cells.append((cell(row, columns["percent_published"]), where))
        records.append(record)
        sections.append(section)

    if not records:
        raise ValueError(f"{path}: sheet {sheet_name!r} has a header but no town rows")
    for record, percent in zip(records, _percents(percent_cells), strict=True):
        record["percent_published"] = percent
    table = pd.DataFrame.from_records(records)
    duplicated = table["town_name"].duplicated(keep=False)
    if duplicated.any():
        rows_by_town = table[duplicated].groupby("town_name")["source_row"].apply(list)
        detail = "; ".join(f"{town} (rows {rows})" for town, rows in rows_by_town.items())
        raise ValueError(f"{path}: sheet {sheet_name!r}: towns listed twice: {detail}")
    table["exempt"] = pd.array(
        sections if headings_seen else _exempt_from_order(path, table["town_name"].tolist()),
        dtype="boolean",
    )
    table["year"] = year
    table["source_file"] = path.name
    table["source_sheet"] = sheet_name
    return _typed(table)


def _percents(cells: list[tuple[_Cell, str]]) -> list[float]:
    """Percent cells in percent. A number formatted as a percent (the lists store 0.1025 shown
    as 10.25%) is multiplied by 100, as is a column of unformatted numbers all at most 1;
    text such as "10.25%" is read as written."""
    raw = []
    for c, where in cells:
        value = _number(c, where)
        if value is _MISSING:
            raw.append((None, "missing"))
        elif isinstance(value, tuple):
            raw.append((value[0], "percent"))
        elif c.kind == "number" and c.percent_format:
            raw.append((value, "fraction"))
        else:
            raw.append((value, "plain"))
    plain = [v for v, kind in raw if kind == "plain"]
    plain_is_fraction = bool(plain) and max(abs(v) for v in plain) <= 1.0
    out = []
    for value, kind in raw:
        if kind == "missing":
            out.append(float("nan"))
        elif kind == "fraction" or (kind == "plain" and plain_is_fraction):
            out.append(value * 100.0)
        else:
            out.append(float(value))
    return out


def _exempt_from_order(path: Path, names: list[str]) -> list[bool | None]:
    """Exemption told by the list's order: exempt towns alphabetically, then the rest.

    One alphabetical run means the list does not mark exemption (all <NA>); two runs mean the
    first is the exempt list. An inversion counts only if it is one both with and without
    spaces in the names ("Westbrook" before "West Hartford" is alphabetical one way).
    """
    spaced = [re.sub(r"[^a-z ]", "", n.lower()) for n in names]
    unspaced = [s.replace(" ", "") for s in spaced]
    breaks = [
        i
        for i in range(1, len(names))
        if spaced[i] < spaced[i - 1] and unspaced[i] < unspaced[i - 1]
    ]
    if not breaks:
        return [None] * len(names)
    exempt: list[bool | None] = [True] * breaks[0] + [False] * (len(names) - breaks[0])
    if len(breaks) > 1:
        stray = names[breaks[1] :]
        log.warning(
            "%s: %d town(s) printed after the second alphabetical run (%s); their exempt "
            "status is left missing",
            path.name,
            len(stray),
            ", ".join(stray),
        )
        exempt[breaks[1] :] = [None] * len(stray)
    return exempt


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reindex(columns=list(OUTPUT_COLUMNS))
    table["year"] = table["year"].astype("int64")
    for column in COUNT_COLUMNS:
        table[column] = table[column].astype("Int64")
    table["percent_published"] = table["percent_published"].astype("float64")
    table["exempt"] = table["exempt"].astype("boolean")
    table["source_row"] = table["source_row"].astype("int64")
    for column in ("town_name", "town_name_published", "source_file", "source_sheet"):
        table[column] = table[column].astype(str)
    return table


# --------------------------------------------------------------------------------------------
# All years
# --------------------------------------------------------------------------------------------


def read_appeals_lists(source: str | Path | Mapping[int, str | Path]) -> pd.DataFrame:
    """Every list in a folder (files ending .xls or .xlsx whose names start with the year),
    or the lists of a mapping list year -> workbook path (as the pipeline's config gives
    them), stacked and sorted by year and town. Raises ValueError if a town-year appears
    twice (two workbooks for one year, say an original and an amended list) or there are no
    lists."""
    if isinstance(source, Mapping):
        if not source:
            raise ValueError("appeals lists: none given")
        workbooks = [(Path(path), int(year)) for year, path in sorted(source.items())]
        where = "appeals lists"
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder")
        workbooks = [
            (p, None)
            for p in sorted(folder.iterdir())
            if p.is_file()
            and p.suffix.lower() in {".xls", ".xlsx"}
            and not p.name.startswith(("~$", "."))
        ]
        if not workbooks:
            raise ValueError(f"{folder}: no .xls or .xlsx appeals lists")
        where = str(folder)
    table = pd.concat(
        [read_appeals_list(path, year=year) for path, year in workbooks], ignore_index=True
    )
    duplicated = table.duplicated(["year", "town_name"], keep=False)
    if duplicated.any():
        clashes = (
            table[duplicated]
            .groupby(["year", "town_name"])["source_file"]
            .apply(lambda files: " and ".join(sorted(set(files))))
        )
        detail = "; ".join(f"{town} {year} ({files})" for (year, town), files in clashes.items())
        raise ValueError(f"{where}: town-years listed more than once: {detail}")
    return _typed(table.sort_values(["year", "town_name"], ignore_index=True))


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

CHECK_COLUMNS = (
    "year",
    "town_name",
    "check",
    "published",
    "recomputed",
    "difference",
    "source_file",
    "source_row",
)


def percent_check(table: pd.DataFrame, tolerance: float = PERCENT_TOLERANCE) -> pd.DataFrame:
    """The town-years whose published figures do not follow from the published counts.

    Two checks, reported not corrected, one output row per failure:

    - ``check == "percent"``: ``percent_published`` against 100 × total_assisted /
      housing_units, failing when they differ by more than ``tolerance`` percentage points
      (default 0.005, half a unit in the second decimal the state prints), or when exactly
      one of the two is missing;
    - ``check == "total"``: ``total_assisted`` against the sum of the four components
      (blank components add nothing, as in the state's own sums), failing on any difference.

    Columns: year, town_name, check, published, recomputed (float64), difference (published
    minus recomputed), source_file, source_row; sorted by year, town and check.
    """
    needed = ["year", "town_name", *COUNT_COLUMNS, "percent_published"]
    missing = [c for c in needed if c not in table]
    if missing:
        raise ValueError(f"percent_check: table lacks column(s) {', '.join(missing)}")
    if tolerance < 0:
        raise ValueError(f"percent_check: tolerance must be >= 0, not {tolerance}")
    units = table["housing_units"].astype("Float64")
    total = table["total_assisted"].astype("Float64")
    recomputed_percent = (100 * total / units.where(units > 0)).astype("float64")
    published_percent = table["percent_published"].astype("float64")
    percent_gap = (published_percent - recomputed_percent).abs()
    percent_bad = (percent_gap > tolerance + _FLOAT_SLACK) | (
        published_percent.isna() != recomputed_percent.isna()
    )
    components = table[list(COMPONENT_COLUMNS)].astype("Float64")
    recomputed_total = components.sum(axis=1, skipna=True, min_count=0).astype("float64")
    published_total = total.astype("float64")
    total_bad = ((published_total - recomputed_total).abs() > _FLOAT_SLACK) | (
        published_total.isna() != recomputed_total.isna()
    )
    audit = [c for c in ("source_file", "source_row") if c in table]
    parts = []
    for check, bad, published, recomputed in (
        ("percent", percent_bad, published_percent, recomputed_percent),
        ("total", total_bad, published_total, recomputed_total),
    ):
        part = table.loc[bad, ["year", "town_name", *audit]].copy()
        part["check"] = check
        part["published"] = published[bad]
        part["recomputed"] = recomputed[bad]
        part["difference"] = part["published"] - part["recomputed"]
        parts.append(part)
    result = pd.concat(parts, ignore_index=True).reindex(columns=list(CHECK_COLUMNS))
    result["check"] = result["check"].astype(str)
    return result.sort_values(["year", "town_name", "check"], ignore_index=True)


# --------------------------------------------------------------------------------------------
# Town GEOIDs
# --------------------------------------------------------------------------------------------


def read_town_names(path: str | Path) -> pd.DataFrame:
    """``town_geoid`` and ``town_name`` from a Census county-subdivision GeoJSON (its GEOID
    and NAME properties), read without geometry."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            features = json.load(handle)["features"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: cannot read county subdivisions ({error})") from error
    records = []
    for i, feature in enumerate(features):
        properties = feature.get("properties") or {}
        if "GEOID" not in properties or "NAME" not in properties:
            raise ValueError(f"{path}: feature {i} lacks the GEOID or NAME property")
        records.append({"town_geoid": str(properties["GEOID"]), "town_name": properties["NAME"]})
    towns = pd.DataFrame.from_records(records, columns=["town_geoid", "town_name"])
    bad = ~towns["town_geoid"].str.fullmatch(r"\d{10}")
    if bad.any():
        raise ValueError(f"{path}: GEOID {towns['town_geoid'][bad].iloc[0]!r} is not 10 digits")
    return towns.sort_values("town_geoid", ignore_index=True)


def attach_town_geoids(table: pd.DataFrame, towns: pd.DataFrame) -> pd.DataFrame:
    """Add ``town_geoid`` after ``town_name``, matching names by `town_key` (case, spacing,
    punctuation, E./W./N./S. abbreviations and `HISTORICAL_TOWN_NAMES`).

    ``towns`` has ``town_geoid`` and ``town_name`` (e.g. from `read_town_names`). The GEOID is
    kept as the boundary file gives it: the 2020 county-subdivision file uses the old county
    codes (09001…09015), not the planning-region codes (09110…09190) of 2022 on. Raises a
    ValueError listing every unmatched name with its file and year.
    """
    for frame, label, needed in (
        (table, "table", ("town_name",)),
        (towns, "towns", ("town_geoid", "town_name")),
    ):
        missing = [c for c in needed if c not in frame]
        if missing:
            raise ValueError(f"attach_town_geoids: {label} lacks column(s) {', '.join(missing)}")
    keys = towns["town_name"].map(lambda n: town_key(str(n)))
    clashing = keys[keys.duplicated(keep=False)]
    if not clashing.empty:
        names = towns.loc[clashing.index, "town_name"].tolist()
        raise ValueError(f"attach_town_geoids: towns has names that match alike: {names}")
    geoid_by_key = dict(zip(keys, towns["town_geoid"].astype(str), strict=True))
    for alias, name in HISTORICAL_TOWN_NAMES.items():
        if town_key(name) in geoid_by_key:
            geoid_by_key.setdefault(alias, geoid_by_key[town_key(name)])
    geoids = table["town_name"].map(lambda n: geoid_by_key.get(town_key(str(n))))
    unmatched = geoids.isna()
    if unmatched.any():
        context = [c for c in ("source_file", "year") if c in table]
        listing = (
            table.loc[unmatched, ["town_name", *context]]
            .drop_duplicates()
            .astype(str)
            .agg(lambda row: f"{row['town_name']!r} ({', '.join(row[context])})", axis=1)
        )
        raise ValueError(
            f"attach_town_geoids: {unmatched.sum()} row(s) with no matching town: "
            + "; ".join(listing)
        )
    out = table.copy()
    out.insert(out.columns.get_loc("town_name") + 1, "town_geoid", geoids.astype(str))
    return out
