"""The spatial units the indices are measured over: census tracts or block groups.

Config key ``unit_level`` picks one. Everything that differs between the two, from the
Census Data API's geography to the cartographic file's layer and the relationship file's
columns, is here, so the rest of the library takes a :class:`UnitLevel` rather than asking
which one it has. Which ACS releases publish which tables for each unit is in the vintage
table (``acs_vintages.yaml``), not here.
"""

from __future__ import annotations

import dataclasses

#: Digits of each API geography code in a GEOID.
_CODE_DIGITS = {"state": 2, "county": 3, "tract": 6, "block group": 1}


@dataclasses.dataclass(frozen=True)
class UnitLevel:
    #: The config value, and ``unit_level`` in indices.csv: "tract" or "block_group".
    name: str
    #: The Census Data API's name of the geography (``for=<api_geography>:*``).
    api_geography: str
    #: The geography columns the API appends to each row, outermost first.
    api_columns: tuple[str, ...]
    #: The API's parent geographies a request must name: block groups are requested county
    #: by county (``in=state:09 county:110``), tracts for the whole state.
    requested_by_county: bool
    #: The cartographic boundary file's layer (``cb_<vintage>_<state>_<layer>_500k``).
    boundary_layer: str
    #: The boundary file's column holding the unit's own code.
    boundary_code_column: str
    #: The tidy table's file stem under results: ``data/<table_stem>_<state>_<year>.parquet``.
    table_stem: str
    #: What the Census relationship files call the unit in their column names
    #: (``GEOID_TRACT_20``, ``GEOID_BLKGRP_20``).
    relationship_name: str
    #: What the unit is called in messages and logs.
    label: str

    @property
    def geoid_digits(self) -> int:
        """State (2) + county (3) + tract (6) [+ block group (1)]."""
        return sum(_CODE_DIGITS[column] for column in self.api_columns)

    @property
    def name_parts(self) -> int:
        """How many names the API's NAME holds: the unit's, each parent's, the state's."""
        return len(self.api_columns)


TRACT = UnitLevel(
    name="tract",
    api_geography="tract",
    api_columns=("state", "county", "tract"),
    requested_by_county=False,
    boundary_layer="tract",
    boundary_code_column="TRACTCE",
    table_stem="tracts",
    relationship_name="TRACT",
    label="tract",
)

BLOCK_GROUP = UnitLevel(
    name="block_group",
    api_geography="block group",
    api_columns=("state", "county", "tract", "block group"),
    requested_by_county=True,
    boundary_layer="bg",
    boundary_code_column="BLKGRPCE",
    table_stem="block_groups",
    relationship_name="BLKGRP",
    label="block group",
)

UNIT_LEVELS = {level.name: level for level in (TRACT, BLOCK_GROUP)}


def unit_level(name: str | UnitLevel) -> UnitLevel:
    """The unit level called ``name`` (config key ``unit_level``); ValueError otherwise."""
    if isinstance(name, UnitLevel):
        return name
    try:
        return UNIT_LEVELS[name]
    except KeyError:
        raise ValueError(
            f"config key 'unit_level': unknown unit level {name!r}; "
            f"allowed: {', '.join(UNIT_LEVELS)}"
        ) from None
