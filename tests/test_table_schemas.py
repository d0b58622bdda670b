"""Tests for housing_segregation.table_schemas and table_markdown: the tables' data
dictionaries, their validation, the Markdown renderings, and docs/outputs.md against them.

Every table here is synthetic and hand-made (a few rows), labelled as such."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housing_segregation import table_markdown, table_schemas
from housing_segregation.measure import INDEX_COLUMNS
from housing_segregation.siting import SITING_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

#: Synthetic siting_metrics.csv: two programs, one state, valid against the schema.
SITING_CSV = """\
year,program,geography_level,geography_id,geography_name,metric,value,denominator
2023,assisted_units_total,state,09,Connecticut,units,100,
2023,assisted_units_total,state,09,Connecticut,share_in_recap,0.15,100
2023,all_housing,state,09,Connecticut,units,1000,
2023,all_housing,state,09,Connecticut,share_in_recap,0.036,1000
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path) -> dict:
    return table_schemas.write_schema(path, table_schemas.schema_path(path))


def test_a_valid_table_gets_its_schema_beside_it(tmp_path):
    table = write(tmp_path, "siting_metrics.csv", SITING_CSV)
    check(table)
    schema = json.loads((tmp_path / "siting_metrics.schema.json").read_text())
    assert [f["name"] for f in schema["fields"]] == SITING_COLUMNS
    assert schema["primaryKey"] == ["year", "program", "geography_level", "geography_id", "metric"]
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["year"]["type"] == "integer" and fields["value"]["type"] == "number"
    assert fields["year"]["constraints"]["required"] is True
    assert "state" in fields["geography_level"]["constraints"]["enum"]
    assert all(f["description"] for f in schema["fields"])
    # Deterministic bytes: the same table gives the same file.
    before = (tmp_path / "siting_metrics.schema.json").read_bytes()
    check(table)
    assert (tmp_path / "siting_metrics.schema.json").read_bytes() == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # A column left out: named, with where it belongs.
        (
            lambda t: (
                t.replace(",denominator", "")
                .replace(",100\n", "\n")
                .replace(",1000\n", "\n")
                .replace("100,\n", "100\n")
                .replace("1000,\n", "1000\n")
            ),
            "siting_metrics.csv: column 'denominator': missing",
        ),
        # Two columns swapped.
        (
            lambda t: t.replace("program,geography_level", "geography_level,program", 1),
            "siting_metrics.csv: column 'geography_level': out of order",
        ),
        # Text in a number column (data row 2).
        (
            lambda t: t.replace("share_in_recap,0.15,", "share_in_recap,abc,"),
            "siting_metrics.csv: column 'value', row 2: 'abc' is not of type number",
        ),
        # A decimal in an integer column (data row 4).
        (
            lambda t: t.replace("0.036,1000", "0.036,1000.5"),
            "siting_metrics.csv: column 'denominator', row 4: '1000.5' is not of type integer",
        ),
        # An empty cell in a required column (data row 3).
        (
            lambda t: t.replace(
                "2023,all_housing,state,09,Connecticut,units",
                ",all_housing,state,09,Connecticut,units",
            ),
            "siting_metrics.csv: column 'year', row 3: empty in a required column",
        ),
        # A repeated key: row 4 repeats row 3.
        (
            lambda t: t.replace("share_in_recap,0.036", "units,0.036"),
            "siting_metrics.csv: column 'year, program, geography_level, geography_id, metric', "
            "row 4: key ('2023', 'all_housing', 'state', '09', 'units') repeats row 3",
        ),
        # A value outside the enumeration.
        (
            lambda t: t.replace("2023,all_housing,state", "2023,all_housing,galaxy", 1),
            "siting_metrics.csv: column 'geography_level', row 3: 'galaxy' is not one of",
        ),
        # A GEOID that lost its leading zero.
        (
            lambda t: t.replace("state,09,", "state,9x,", 1),
            "siting_metrics.csv: column 'geography_id', row 1: '9x' does not match",
        ),
    ],
)
def test_a_table_that_breaks_its_schema_is_named_with_column_and_row(tmp_path, edit, message):
    table = write(tmp_path, "siting_metrics.csv", edit(SITING_CSV))
    with pytest.raises(table_schemas.TableSchemaError) as raised:
        check(table)
    assert str(raised.value).startswith(message), str(raised.value)
    assert not (tmp_path / "siting_metrics.schema.json").exists()


def test_an_extra_column_is_refused(tmp_path):
    text = "\n".join(line + (",x" if line else "") for line in SITING_CSV.split("\n"))
    table = write(
        tmp_path, "siting_metrics.csv", text.replace("denominator,x", "denominator,extra")
    )
    with pytest.raises(table_schemas.TableSchemaError, match="column 'extra': not in the schema"):
        check(table)


def test_empty_reference_group_is_a_value_of_the_key_not_a_missing_one(tmp_path):
    # Synthetic indices.csv: isolation has no reference group; its empty cell is part of the
    # key (field-level missingValues: []), so the rows validate, and a repeat still fails.
    header = ",".join(INDEX_COLUMNS)
    rows = [
        "2023,state,09,Connecticut,tract,isolation,black_nh,,0.25,876,3598348,0.01,0.24,0.26,"
        "complete",
        "2023,state,09,Connecticut,tract,dissimilarity,black_nh,white_nh,0.6,876,3598348,,,,"
        "complete",
    ]
    table = write(tmp_path, "indices.csv", "\n".join([header, *rows]) + "\n")
    schema = check(table)
    reference = next(f for f in schema["fields"] if f["name"] == "reference_group")
    assert reference["missingValues"] == []
    write(tmp_path, "indices.csv", "\n".join([header, rows[0], rows[0]]) + "\n")
    with pytest.raises(table_schemas.TableSchemaError, match=r"row 2: key .* repeats row 1"):
        check(table)


def test_numbers_accept_what_pandas_writes(tmp_path):
    # inf (an uncapped town), exponents and negatives are numbers; True/False are booleans.
    frame = pd.DataFrame({"v": ["inf", "-1.5e-07", "3", ".5"], "b": ["True", "False", "", "True"]})
    schema = {
        "fields": [
            {"name": "v", **table_schemas._field("number", "synthetic")},
            {"name": "b", **table_schemas._field("boolean", "synthetic")},
        ],
        "missingValues": [""],
    }
    table_schemas.validate_frame("synthetic.csv", frame, schema)
    frame.loc[2, "b"] = "yes"
    with pytest.raises(table_schemas.TableSchemaError, match="column 'b', row 3: 'yes'"):
        table_schemas.validate_frame("synthetic.csv", frame, schema)


def test_parquet_tables_are_checked_like_csv(tmp_path):
    # Synthetic subsidized_by_tract.parquet: one valid tract (no planning region: optional
    # columns left out of its schema), then the same with a repeated GEOID.
    spec = table_schemas.table_specs()["subsidized_by_tract.parquet"]
    columns = [c for c in spec.columns if c not in spec.optional]
    row = {c: 0 for c in columns} | {
        "year": 2023,
        "geography_level": "tract",
        "geoid": "44001030100",
        "name": "Tract 301",
        "state_fips": "44",
        "state_name": "Rhode Island",
        "county_geoid": "44001",
        "county_name": "Bristol County",
        "town_geoid": "4400105140",
        "town_name": "Bristol",
        "cbsa_geoid": None,
        "cbsa_name": None,
        "households": 812.0,
        "geometry": b"\x01",
    }
    path = tmp_path / "subsidized_by_tract.parquet"
    pd.DataFrame([row], columns=columns).to_parquet(path, index=False)
    schema = check(path)
    assert "planning_region_geoid" not in [f["name"] for f in schema["fields"]]
    pd.DataFrame([row, row], columns=columns).to_parquet(path, index=False)
    with pytest.raises(table_schemas.TableSchemaError, match="'geoid', row 2: key"):
        check(path)
    pd.DataFrame([row | {"households": 812.5}], columns=columns).to_parquet(path, index=False)
    with pytest.raises(table_schemas.TableSchemaError, match=r"'households', row 1: '812\.5'"):
        check(path)


def test_every_table_spec_describes_every_column():
    for name, spec in table_schemas.table_specs().items():
        schema = table_schemas.table_schema(name)
        assert [f["name"] for f in schema["fields"]] == list(spec.columns), name
        assert len(set(spec.columns)) == len(spec.columns), name
        assert set(spec.primary_key) <= set(spec.columns), name
        for field in schema["fields"]:
            assert field["description"].strip(), (name, field["name"])
            assert field["type"] in {"string", "integer", "number", "boolean", "any"}
        # Every table carries its year and its geography (level, and an ID column).
        assert {"year", "geography_level"} <= set(spec.columns), name
        assert {"geography_id", "geoid", "town_geoid"} & set(spec.columns), name


def test_schema_and_headline_files_sit_beside_their_tables():
    assert table_schemas.schema_path("r/v/tables/indices.csv") == "r/v/tables/indices.schema.json"
    assert table_schemas.schema_path("t/subsidized_by_tract.parquet") == (
        "t/subsidized_by_tract.schema.json"
    )
    assert not table_schemas.has_schema("t/siting_model_summary.txt")
    with pytest.raises(ValueError, match=r"only \.csv, \.parquet"):
        table_schemas.schema_path("t/siting_model_summary.txt")
    assert table_markdown.headline_files(["t/indices.csv", "t/siting_metrics.csv"]) == [
        "t/indices_headline.md",
        "t/siting_headline.md",
    ]


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def test_markdown_table_pads_aligns_and_escapes():
    text = table_markdown.markdown_table(["a", "value"], [["x|y", "1.5"], ["z", "10.25"]], "lr")
    assert text == ("| a    | value |\n| ---- | ----: |\n| x\\|y |   1.5 |\n| z    | 10.25 |\n")


def test_rounding_is_stated_and_applied():
    assert table_markdown.fixed(0.62649, 3) == "0.626"
    assert table_markdown.fixed(-0.00004, 3) == "0.000"  # no "-0.000"
    assert table_markdown.fixed(float("nan"), 3) == "—"
    assert table_markdown.with_interval(-0.02669, -0.02757, -0.02567, 3) == (
        "-0.027 [-0.028, -0.026]"
    )
    assert table_markdown.with_interval(0.5, np.nan, np.nan, 2) == "0.50"
    assert table_markdown.percent(0.150453061) == "15.0"
    assert table_markdown.count(86964.0) == "86,964"


def test_indices_headline_renders_a_synthetic_table_exactly():
    # Synthetic: one state and one planning region, one pair; a county row and another
    # index are left out.
    def row(level, gid, name, index, group, reference, value, low, high):
        return {
            "year": 2023,
            "geography_level": level,
            "geography_id": gid,
            "geography_name": name,
            "unit_level": "tract",
            "index": index,
            "group": group,
            "reference_group": reference,
            "value": value,
            "n_units": 9,
            "population": 99,
            "se": 0.01,
            "ci_low": low,
            "ci_high": high,
        }

    indices = pd.DataFrame(
        [
            row(
                "state",
                "09",
                "Connecticut",
                "dissimilarity",
                "black_nh",
                "white_nh",
                0.62588,
                0.61712,
                0.63349,
            ),
            row(
                "state", "09", "Connecticut", "isolation", "black_nh", None, 0.26849, 0.2605, 0.2761
            ),
            row("state", "09", "Connecticut", "gini", "black_nh", "white_nh", 0.79, 0.78, 0.8),
            row(
                "planning_region",
                "09110",
                "Capitol",
                "dissimilarity",
                "black_nh",
                "white_nh",
                0.6413,
                0.62949,
                0.65351,
            ),
            row(
                "county",
                "09001",
                "Fairfield County",
                "dissimilarity",
                "black_nh",
                "white_nh",
                0.7,
                0.69,
                0.71,
            ),
        ]
    )
    text = table_markdown.indices_headline(indices, interval_level=0.9, groups=["black_nh"])
    lines = text.splitlines()
    assert lines[0] == "# Segregation: dissimilarity and isolation"
    assert "Geography: states and planning regions (GEOIDs as text)." in lines[2]
    assert "rounded to 3 decimals" in lines[4] and "90% Monte Carlo interval" in lines[4]
    assert lines[6].startswith("Source: `tables/indices.csv`")
    assert lines[8] == "## Connecticut (09), ACS 2023"
    table = lines[10:]
    assert table == [
        "| Area        | Level           | GEOID | Group vs reference          |        "
        "Dissimilarity | Isolation of the group |",
        "| ----------- | --------------- | ----- | --------------------------- | "
        "-------------------: | ---------------------: |",
        "| Connecticut | state           | 09    | Black vs non-Hispanic white | "
        "0.626 [0.617, 0.633] |   0.268 [0.261, 0.276] |",
        "| Capitol     | planning region | 09110 | Black vs non-Hispanic white | "
        "0.641 [0.629, 0.654] |                      — |",
    ]


def test_scenario_and_siting_headlines_from_synthetic_tables():
    scenarios = pd.DataFrame(
        {
            "scenario": ["a", "a", "b"],
            "metric": [
                "dissimilarity:black_nh:white_nh",
                "isolation:black_nh",
                "dissimilarity:black_nh:white_nh",
            ],
            "geography_level": "state",
            "geography_id": "09",
            "baseline": [0.62588, 0.27, 0.62588],
            "value": [0.6, 0.26, 0.62588],
            "delta": [-0.02588, -0.01, 0.0],
            "delta_ci_low": [-0.0276, -0.02, -0.0004],
            "delta_ci_high": [-0.0243, 0.0, 0.0004],
            "year": 2023,
        }
    )
    text = table_markdown.scenarios_headline(
        scenarios, interval_level=0.9, names={"09": "Connecticut"}
    )
    body = text.splitlines()
    assert "## Connecticut (09), ACS 2023" in body
    assert body[-3:] == [
        "| baseline (dissimilarity today) |                       0.626 |",
        "| Δ a                            |     -0.026 [-0.028, -0.024] |",
        "| Δ b                            |        0.000 [0.000, 0.000] |",
    ]
    metrics = pd.DataFrame(
        {
            "year": 2023,
            "program": ["assisted_units_total"] * 3 + ["all_housing"] * 3,
            "geography_level": "state",
            "geography_id": "09",
            "geography_name": "Connecticut",
            "metric": ["units", "share_in_recap", "share_in_majority_nonwhite"] * 2,
            "value": [86964, 0.150453, 0.56749, 1420170, 0.03649, 0.28151],
            "denominator": np.nan,
        }
    )
    # The whole rendering, byte for byte: 0.150453 -> 15.0, 0.03649 -> 3.6, 1420170 -> 1,420,170.
    assert table_markdown.siting_headline(metrics) == (
        "# Siting of assisted housing: shares in R/ECAPs and majority non-white tracts\n"
        "\n"
        "Year(s): ACS 5-year estimates ending 2023 (the tracts the units are placed in). "
        "Geography: states (GEOIDs as text).\n"
        "\n"
        "Units: counts of units (households for HUD's household counts), rounded to whole "
        "numbers; shares in percent of the program's units in the state, rounded to 1 decimal. "
        "The comparison row is every occupied home, weighted the same way. R/ECAP: HUD's "
        "racially or ethnically concentrated area of poverty; majority non-white: more than "
        "half of residents not non-Hispanic white.\n"
        "\n"
        "Source: `tables/siting_metrics.csv` (rows with `geography_level` `state` and `metric` "
        "`units`, `share_in_recap`, `share_in_majority_nonwhite`); other areas and metrics are "
        "in the CSV.\n"
        "\n"
        "## Connecticut (09), ACS 2023\n"
        "\n"
        "| Program                         | `program`            | Units or households "
        "| In R/ECAPs (%) | In majority non-white tracts (%) |\n"
        "| ------------------------------- | -------------------- | ------------------: "
        "| -------------: | -------------------------------: |\n"
        "| all assisted units              | assisted_units_total |              86,964 "
        "|           15.0 |                             56.7 |\n"
        "| all occupied homes (comparison) | all_housing          |           1,420,170 "
        "|            3.6 |                             28.2 |\n"
    )


# --------------------------------------------------------------------------------------------
# docs/outputs.md against the schemas
# --------------------------------------------------------------------------------------------


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of every heading of the Markdown text."""
    parts = re.split(r"^(#+ .*)$", text, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def _names(code_spans: str) -> list[str]:
    """Column names in backticked spans, each span maybe a comma-separated list."""
    spans = re.findall(r"`([^`]+)`", code_spans)
    return [name.strip() for span in spans for name in span.split(",") if name.strip()]


def _matches(documented: str, column: str) -> bool:
    pattern = re.escape(documented).replace(r"\<", "<").replace(r"\>", ">")
    return re.fullmatch(re.sub(r"<[^>]+>", ".+", pattern), column) is not None


def test_outputs_md_documents_exactly_the_schema_columns():
    """Every column docs/outputs.md lists for a table is a column of its schema, and every
    schema column is mentioned in the table's section (the prose stays hand-written)."""
    specs = table_schemas.table_specs()
    text = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    covered = set()
    for heading, body in _sections(text):
        tables = [n.split("/")[-1] for n in re.findall(r"`([^`]+\.(?:csv|parquet))`", heading)]
        tables = [t for t in tables if t in specs and "tables/" in heading]
        if not tables:
            continue
        covered.update(tables)
        columns = [c for t in tables for c in specs[t].columns]
        listed = [
            name
            for line in body.splitlines()
            if line.startswith("| `")
            for name in _names(line.split("|")[1])
        ]
        for name in listed:
            assert any(_matches(name, c) for c in columns), (heading, name)
        mentioned = _names(body)
        for column in columns:
            assert any(_matches(name, column) for name in mentioned), (heading, column)
    # Every table with a schema has a section (hud_by_tract included).
    assert covered == set(specs)
