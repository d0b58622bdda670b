"""What changes from one ACS 5-year release to the next, looked up in one declarative table.

The table is ``acs_vintages.yaml`` beside this module (its comments say how each row was
checked), validated by ``workflow/schemas/acs_vintages.schema.yaml`` where the workflow is at
hand. :func:`vintage` gives one end year's rules; the rest of the library asks it rather than
comparing years itself.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: The table, and its schema (absent when the library is installed without the workflow).
TABLE_PATH = Path(__file__).with_name("acs_vintages.yaml")
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "acs_vintages.schema.yaml"


@dataclasses.dataclass(frozen=True)
class Vintage:
    """The rules of one ACS 5-year end year (see the table's comments for each field)."""

    end_year: int
    tract_decade: int
    boundary_vintage: int
    name_separator: str
    tables: frozenset[str]
    block_group_tables: frozenset[str]
    county_equivalents: tuple[tuple[str, str], ...]

    def tables_for(self, unit_level: str) -> frozenset[str]:
        """The tables the release publishes for ``unit_level`` ("tract", "block_group")."""
        return self.tables if unit_level == "tract" else self.block_group_tables

    def county_equivalent(self, state: str) -> str:
        """What a state's county part of a GEOID is this year: "counties" unless the table
        says otherwise (Connecticut's "planning_regions" from 2022)."""
        return dict(self.county_equivalents).get(state, "counties")


@dataclasses.dataclass(frozen=True)
class BoundaryLayout:
    first_vintage: int
    path: str


@dataclasses.dataclass(frozen=True)
class RelationshipFile:
    unit_level: str
    source_decade: int
    target_decade: int
    path: str
    url_path: str


@dataclasses.dataclass(frozen=True)
class VintageTable:
    years: tuple[Vintage, ...]
    boundary_layouts: tuple[BoundaryLayout, ...]
    relationship_files: tuple[RelationshipFile, ...]


def _check(document: Any, source: str, schema_path: Path | None) -> None:
    if schema_path is not None and schema_path.is_file():
        schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
        errors = sorted(
            jsonschema.validators.validator_for(schema)(schema).iter_errors(document),
            key=lambda e: list(e.absolute_path),
        )
        if errors:
            where = ".".join(str(p) for p in errors[0].absolute_path) or "<top level>"
            raise ValueError(f"{source} key '{where}': {errors[0].message}")
    years = [row["end_year"] for row in document["years"]]
    expected = list(range(years[0], years[0] + len(years)))
    if years != expected:
        raise ValueError(f"{source} key 'years': end years must run on without gaps: {years}")


def load_table(
    path: str | Path = TABLE_PATH, schema_path: Path | None = SCHEMA_PATH
) -> VintageTable:
    """Read and check a vintage table (rows consecutive, every field known)."""
    path = Path(path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    _check(document, str(path), schema_path)
    return VintageTable(
        years=tuple(
            Vintage(
                end_year=int(row["end_year"]),
                tract_decade=int(row["tract_decade"]),
                boundary_vintage=int(row["boundary_vintage"]),
                name_separator=str(row["name_separator"]),
                tables=frozenset(row["tables"]),
                block_group_tables=frozenset(row["block_group_tables"]),
                county_equivalents=tuple(sorted(row["county_equivalents"].items())),
            )
            for row in document["years"]
        ),
        boundary_layouts=tuple(
            BoundaryLayout(int(row["first_vintage"]), str(row["path"]))
            for row in sorted(document["boundary_layouts"], key=lambda r: r["first_vintage"])
        ),
        relationship_files=tuple(RelationshipFile(**row) for row in document["relationship_files"]),
    )


@cache
def table() -> VintageTable:
    """The packaged table, read once per process."""
    return load_table()


def first_year() -> int:
    """The first end year of the table (2010)."""
    return table().years[0].end_year


def last_year() -> int:
    """The last end year with its own row; later years reuse its rules."""
    return table().years[-1].end_year


def vintage(year: int | str) -> Vintage:
    """The rules of ACS 5-year end year ``year``.

    A year after the table's last row takes that row's rules, with its own boundary vintage
    (where the last row reads its own year's files). A year before the first row is refused,
    naming the config key ``years``."""
    year = int(year)
    rows = table().years
    if year < rows[0].end_year:
        raise ValueError(
            f"config key 'years': {year} is not an ACS 5-year end year the pipeline reads; "
            f"allowed: {rows[0].end_year} or later (tract tables with margins of error "
            f"start with the {rows[0].end_year - 4}-{rows[0].end_year} release)"
        )
    if year <= rows[-1].end_year:
        return rows[year - rows[0].end_year]
    last = rows[-1]
    boundary = year if last.boundary_vintage == last.end_year else last.boundary_vintage
    return dataclasses.replace(last, end_year=year, boundary_vintage=boundary)


def boundary_layout(boundary_vintage: int) -> str:
    """The path template (below the boundaries base URL) of a cartographic boundary vintage."""
    layouts = [
        lay for lay in table().boundary_layouts if lay.first_vintage <= int(boundary_vintage)
    ]
    if not layouts:
        first = table().boundary_layouts[0].first_vintage
        raise ValueError(
            f"cartographic boundary files before {first} use another layout: {boundary_vintage}"
        )
    return layouts[-1].path


def relationship_file(
    source_decade: int, target_decade: int, unit_level: str = "tract"
) -> RelationshipFile:
    """The Census relationship file from one census's units (tracts or block groups) to
    another's."""
    for entry in table().relationship_files:
        if (entry.unit_level, entry.source_decade, entry.target_decade) == (
            unit_level,
            source_decade,
            target_decade,
        ):
            return entry
    raise ValueError(
        f"no {unit_level} relationship file from {source_decade} to {target_decade} in "
        f"{TABLE_PATH.name}"
    )


def first_year_with(state: str, county_equivalent: str) -> int | None:
    """The first end year whose tables use ``county_equivalent`` for ``state``, if any."""
    for row in table().years:
        if row.county_equivalent(state) == county_equivalent:
            return row.end_year
    return None
