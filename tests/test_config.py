"""Tests for housing_segregation.config: schema validation, defaults, coercions, versioning."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from housing_segregation.config import (
    ConfigError,
    boundary_vintage,
    code_fingerprint,
    config_fingerprint,
    load_schema,
    results_version,
    tract_crosswalk_for,
    tract_decade,
    validate_config,
    validate_scenarios,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIG_PATH = ROOT / "config" / "config.yaml"


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema(SCHEMA_PATH)


@pytest.fixture
def raw_config() -> dict:
    with open(CONFIG_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def config(raw_config, schema) -> dict:
    return validate_config(raw_config, schema)


def with_changes(base: dict, **changes) -> dict:
    changed = copy.deepcopy(base)
    changed.update(changes)
    return changed


# --------------------------------------------------------------------------------------------
# Validation and defaults
# --------------------------------------------------------------------------------------------


def test_real_config_is_valid(raw_config, schema):
    validated = validate_config(raw_config, schema)
    assert validated == raw_config  # complete and already canonical (sorted lists)
    assert set(validated) == set(schema["properties"])
    assert validated["states"] == ["09"]
    assert validated["years"] == [2023]


def test_validation_does_not_modify_its_argument(raw_config, schema):
    before = copy.deepcopy(raw_config)
    partial = {"years": ["2023", "2019"]}
    validate_config(raw_config, schema)
    validate_config(partial, schema)
    assert raw_config == before
    assert partial == {"years": ["2023", "2019"]}


#: A town-list entry with one workbook (synthetic path).
ONE_LIST = {"2019": {"path": "ct-housing/list.xls", "url": None}}


def schema_defaults(section: dict) -> dict:
    """The defaults a schema section declares, with those of its nested sections filled in
    (download's are one level down, the siting model's two)."""
    return {
        name: schema_defaults(sub) if "properties" in sub else sub["default"]
        for name, sub in section["properties"].items()
        if "default" in sub
    }


def test_empty_config_gets_every_default(schema):
    validated = validate_config({}, schema)
    nested = {
        name: schema_defaults(section)
        for name, section in schema["properties"].items()
        if section.get("type") == "object" and "properties" in section
    }
    assert validated == {**schema_defaults(schema), **nested}
    # The documented values, spelled out.
    assert validated["states"] == ["09"]
    assert validated["years"] == [2023]
    assert validated["mirror"] is None
    assert validated["unit_level"] == "tract"
    assert validated["crs"] == "EPSG:5070"
    assert validated["groups"] == ["black_nh", "hispanic", "asian_nh", "nonwhite"]
    assert validated["reference_group"] == "white_nh"
    assert validated["boundary_vintages"] == {}
    assert validated["tract_geoid_crosswalks"] == {}
    assert validated["download"]["max_attempts"] == 5
    assert validated["download"]["backoff_seconds"] == pytest.approx(2.0)
    assert validated["download"]["timeout_seconds"] == 120


def test_nested_defaults_fill_a_partial_section(raw_config, schema):
    raw_config["download"] = {"max_attempts": 2}
    del raw_config["crs"]
    validated = validate_config(raw_config, schema)
    expected = {**schema_defaults(schema["properties"]["download"]), "max_attempts": 2}
    assert validated["download"] == expected
    assert validated["download"]["timeout_seconds"] == 120
    assert validated["crs"] == "EPSG:5070"


def test_defaults_are_not_shared_between_results(schema):
    first = validate_config({}, schema)
    first["groups"].append("aian_nh")
    first["download"]["max_attempts"] = 99
    second = validate_config({}, schema)
    assert second["groups"] == ["black_nh", "hispanic", "asian_nh", "nonwhite"]
    assert second["download"]["max_attempts"] == 5


def config_error(raw_config, schema, **changes) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(with_changes(raw_config, **changes), schema)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_unknown_state_names_the_key_and_allowed_values(raw_config, schema):
    message = config_error(raw_config, schema, states=["99"])
    assert "'states" in message
    assert "'99'" in message
    assert "allowed values" in message
    assert "'09'" in message and "'72'" in message


def test_year_too_early_names_the_key_and_minimum(raw_config, schema):
    message = config_error(raw_config, schema, years=[2005])
    assert "'years" in message
    assert "2005" in message
    assert ">= 2010" in message


def test_unknown_unit_level_lists_the_allowed_value(raw_config, schema):
    message = config_error(raw_config, schema, unit_level="block")
    assert "'unit_level'" in message
    assert "'block'" in message
    assert "allowed values: 'tract', 'block_group'" in message


def test_block_groups_before_the_apis_first_block_group_release_are_refused(raw_config, schema):
    message = config_error(raw_config, schema, unit_level="block_group", years=[2012, 2023])
    assert message.startswith("config key 'unit_level': block_group tables are not in the")
    assert "ACS 2012" in message


def test_block_groups_are_accepted_from_2013(raw_config, schema):
    resolved = validate_config(
        with_changes(raw_config, unit_level="block_group", years=[2013, 2023]), schema
    )
    assert resolved["unit_level"] == "block_group"


def test_unknown_top_level_key_is_named_with_the_allowed_keys(raw_config, schema):
    message = config_error(raw_config, schema, year=[2023])  # "year" for "years"
    assert "'year' was unexpected" in message
    assert "allowed keys:" in message
    for key in schema["properties"]:
        assert key in message


def test_groups_containing_the_reference_group_are_rejected(raw_config, schema):
    message = config_error(raw_config, schema, groups=["black_nh", "white_nh"])
    assert "'groups" in message
    assert "white_nh" in message


def test_reference_group_check_applies_even_if_the_schema_allows_it(raw_config, schema):
    # Synthetic: a schema whose groups enum also lists white_nh, so that only the explicit
    # check in validate_config (not the enum) can catch a group measured against itself.
    loose = copy.deepcopy(schema)
    loose["properties"]["groups"]["items"]["enum"].append("white_nh")
    with pytest.raises(ConfigError, match=r"'groups': contains the reference group 'white_nh'"):
        validate_config(with_changes(raw_config, groups=["hispanic", "white_nh"]), loose)


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        ({"crs": 5070}, "'crs'", "not of type 'string'"),
        ({"crs": "5070"}, "'crs'", "^EPSG:[0-9]+$"),
        ({"years": ["twenty"]}, "'years.0'", "not of type 'integer'"),
        ({"years": [2019.5]}, "'years.0'", "not of type 'integer'"),
        ({"mirror": 3}, "'mirror'", "not of type 'string', 'null'"),
        ({"states": [True]}, "'states.0'", "True"),
        ({"download": {"max_attempts": "5"}}, "'download.max_attempts'", "'integer'"),
        ({"download": {"timeout_seconds": 0}}, "'download.timeout_seconds'", "> 0"),
        (
            {"boundary_vintages": {"2019": {"tract": "2019", "cousub": 2020}}},
            "'boundary_vintages.2019.tract'",
            "'integer'",
        ),
        ({"boundary_vintages": {"2019": {"tract": 2019}}}, "'boundary_vintages.2019'", "cousub"),
        ({"years": [2019, 2019]}, "'years'", "non-unique"),
        ({"groups": []}, "'groups'", "should be non-empty"),
        (
            {"subsidized": {"model": {"family": "logit"}}},
            "'subsidized.model.family'",
            "'negative_binomial', 'poisson'",
        ),
        (
            {"subsidized": {"project_inventories": {"09": {"path": "a.csv", "url": "ftp://x"}}}},
            "'subsidized.project_inventories.09.url'",
            "^https?://",
        ),
        (
            {"subsidized": {"town_lists": {"09": {"map_year": 2019, "files": {}}}}},
            "'subsidized.town_lists.09.files'",
            "should be non-empty",
        ),
        (
            {"subsidized": {"town_lists": {"09": {"map_year": 2020, "files": ONE_LIST}}}},
            "'subsidized.town_lists.09.map_year'",
            "2020 is not one of the list years; allowed: 2019",
        ),
    ],
)
def test_wrong_types_and_values_name_the_key(raw_config, schema, changes, key, expected):
    message = config_error(raw_config, schema, **changes)
    assert message.startswith(f"config key {key}:"), message
    assert expected in message


# --------------------------------------------------------------------------------------------
# Command-line coercions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        # Snakemake passes `--config years=[2019,2023]` as strings.
        ({"years": ["2019", "2023"]}, "years", [2019, 2023]),
        ({"years": ["2023", "2019"]}, "years", [2019, 2023]),  # and the result is sorted
        ({"years": 2019}, "years", [2019]),
        ({"years": "2019"}, "years", [2019]),
        ({"states": 9}, "states", ["09"]),
        ({"states": "09"}, "states", ["09"]),
        ({"states": [25, 9]}, "states", ["09", "25"]),
        ({"groups": "hispanic"}, "groups", ["hispanic"]),
        ({"cbsa_other_states": "false"}, "cbsa_other_states", False),
        ({"cbsa_other_states": "True"}, "cbsa_other_states", True),
    ],
)
def test_command_line_values_are_coerced(raw_config, schema, changes, key, expected):
    validated = validate_config(with_changes(raw_config, **changes), schema)
    assert validated[key] == expected


# --------------------------------------------------------------------------------------------
# Boundary vintages and crosswalks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "layer", "expected"),
    [
        (2023, "tract", 2020),
        (2023, "cousub", 2020),
        (2019, "tract", 2019),
        (2019, "cousub", 2020),
        (2021, "tract", 2021),  # not listed: its own year
        (2023, "bg", 2020),  # block groups: the tract vintage unless listed
    ],
)
def test_boundary_vintage(config, year, layer, expected):
    assert boundary_vintage(config, year, layer) == expected


def test_boundary_vintage_without_the_section():
    assert boundary_vintage({}, 2018, "cousub") == 2018


def test_crosswalk_applies_to_connecticut_2023(config):
    spec = tract_crosswalk_for(config, "09", 2023)
    assert spec == config["tract_geoid_crosswalks"]["09"]
    assert spec["path"] == "crosswalks/ct_tract_2020_to_2022.csv"
    assert spec["boundary_geoid_column"] == "tract_fips_2020"
    assert spec["acs_geoid_column"] == "Tract_fips_2022"
    spec["path"] = "changed"  # a copy: the config is untouched
    assert config["tract_geoid_crosswalks"]["09"]["path"] == "crosswalks/ct_tract_2020_to_2022.csv"


@pytest.mark.parametrize(
    ("state", "year"),
    [
        ("09", 2019),  # before the planning regions
        ("09", 2022),  # unlisted year: 2022 boundaries already carry the new codes
        ("25", 2023),  # no crosswalk for Massachusetts
    ],
)
def test_crosswalk_does_not_apply(config, state, year):
    assert tract_crosswalk_for(config, state, year) is None


def test_crosswalk_applies_whenever_boundaries_are_older_than_its_first_year(config):
    config["boundary_vintages"]["2022"] = {"tract": 2020, "cousub": 2020}
    assert tract_crosswalk_for(config, "09", 2022) is not None


# --------------------------------------------------------------------------------------------
# Results version
# --------------------------------------------------------------------------------------------


def test_results_version_format(config):
    version = results_version(config, "0123abcd")
    assert re.fullmatch(r"acs2023_cfg[0-9a-f]{8}_code0123abcd", version), version


def test_results_version_names_every_year(raw_config, schema):
    config = validate_config(with_changes(raw_config, years=["2023", "2019"]), schema)
    assert results_version(config, "0123abcd").startswith("acs2019+2023_")
    # Unsorted integer years, unvalidated, give the same prefix.
    assert results_version(with_changes(raw_config, years=[2023, 2019]), "x").startswith(
        "acs2019+2023_"
    )


def test_results_version_is_identical_for_equal_configs(raw_config, schema):
    first = validate_config(raw_config, schema)
    second = validate_config(copy.deepcopy(raw_config), schema)
    assert first is not second
    assert results_version(first, "0123abcd") == results_version(second, "0123abcd")


@pytest.mark.parametrize(
    "changes",
    [
        {"crs": "EPSG:3338"},
        {"years": [2019, 2023]},
        {"states": ["09", "25"]},
        {"groups": ["black_nh", "hispanic"]},
        {"boundary_vintages": {"2019": {"tract": 2019, "cousub": 2019}}},
        {"mirror": "../shared/data"},
    ],
)
def test_results_version_changes_with_any_config_value(raw_config, schema, changes):
    base = validate_config(raw_config, schema)
    changed = validate_config(with_changes(raw_config, **changes), schema)
    assert results_version(changed, "0123abcd") != results_version(base, "0123abcd")


def test_results_version_changes_with_the_code_hash(config):
    assert results_version(config, "0123abcd") != results_version(config, "0123abce")


@pytest.mark.parametrize(
    "changes",
    [
        {"download": {"max_attempts": 3}},
        {"download": {"census_api_base": "https://proxy.example.org/census"}},
    ],
)
def test_results_version_ignores_how_inputs_are_fetched(raw_config, schema, changes):
    base = validate_config(raw_config, schema)
    changed = validate_config(with_changes(raw_config, **changes), schema)
    assert results_version(changed, "0123abcd") == results_version(base, "0123abcd")


def test_results_version_ignores_where_the_mirror_is(raw_config, schema):
    here = validate_config(with_changes(raw_config, mirror="../shared/data"), schema)
    there = validate_config(with_changes(raw_config, mirror="/mnt/frozen/inputs"), schema)
    none = validate_config(with_changes(raw_config, mirror=None), schema)
    assert results_version(here, "c0de") == results_version(there, "c0de")
    assert results_version(here, "c0de") != results_version(none, "c0de")


def test_code_fingerprint_follows_code_files_only(tmp_path):
    # Synthetic workflow tree: code files plus build debris that must not count.
    (tmp_path / "workflow" / "scripts").mkdir(parents=True)
    (tmp_path / "Snakefile").write_text("rule all:\n    input: []\n")
    script = tmp_path / "workflow" / "scripts" / "step.py"
    script.write_text("print('a')\n")
    first = code_fingerprint(tmp_path, ["Snakefile", "workflow"])
    assert re.fullmatch(r"[0-9a-f]{8}", first)
    (tmp_path / "workflow" / "scripts" / "step.cpython-311.pyc").write_bytes(b"\x00\x01")
    (tmp_path / "workflow" / "scratch.parquet").write_bytes(b"PAR1")
    assert code_fingerprint(tmp_path, ["Snakefile", "workflow"]) == first
    script.write_text("print('b')\n")
    assert code_fingerprint(tmp_path, ["Snakefile", "workflow"]) != first


# --------------------------------------------------------------------------------------------
# Checks beyond the schema
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "words"),
    [
        ("EPSG:4326", ["'crs'", "not a projected CRS in metres", "EPSG:5070"]),  # degrees
        ("EPSG:2234", ["'crs'", "not a projected CRS in metres"]),  # Connecticut, US feet
        ("EPSG:99999", ["'crs'", "not a known CRS"]),
    ],
)
def test_crs_must_be_projected_in_metres(raw_config, schema, crs, words):
    message = config_error(raw_config, schema, crs=crs)
    for word in words:
        assert word in message


@pytest.mark.parametrize("states", ["all", ["all"]])
def test_all_states_means_the_50_states_and_dc(raw_config, schema, states):
    # `states: all` in the file, `--config states=all` or `states=[all]` on the command line.
    validated = validate_config(with_changes(raw_config, states=states), schema)
    assert len(validated["states"]) == 51
    assert validated["states"] == sorted(validated["states"])
    assert {"01", "09", "11", "56"} <= set(validated["states"])  # DC (11) is in
    assert "72" not in validated["states"]  # Puerto Rico only when listed


def test_puerto_rico_can_be_listed(raw_config, schema):
    assert validate_config(with_changes(raw_config, states=["72"]), schema)["states"] == ["72"]


def test_states_all_is_the_only_word_allowed(raw_config, schema):
    message = config_error(raw_config, schema, states="everything")
    assert "'states" in message


def test_single_digit_state_strings_are_padded(raw_config, schema):
    # Snakemake reads `--config states=[9]` as ["9"].
    assert validate_config(with_changes(raw_config, states=["9"]), schema)["states"] == ["09"]


@pytest.mark.parametrize(
    ("year", "expected"), [(2010, 2014), (2013, 2014), (2014, 2014), (2021, 2021)]
)
def test_unlisted_years_use_the_first_vintage_in_todays_layout(year, expected):
    assert boundary_vintage({"boundary_vintages": {}}, year, "tract") == expected


# --------------------------------------------------------------------------------------------
# Scenarios file
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios_schema() -> dict:
    return load_schema(ROOT / "workflow" / "schemas" / "scenarios.schema.yaml")


@pytest.fixture
def scenarios_document() -> dict:
    with open(ROOT / "config" / "scenarios.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_scenario_order_is_kept_and_enters_the_version(
    config, scenarios_document, scenarios_schema
):
    """Tables and figures list scenarios in file order, so reordering the file is another
    version; the order survives provenance.json's sorted keys as a list."""
    resolved = validate_scenarios(scenarios_document, scenarios_schema, "scenarios.yaml")
    assert resolved["order"] == list(scenarios_document["scenarios"])
    reordered = copy.deepcopy(scenarios_document)
    reordered["scenarios"] = dict(reversed(list(reordered["scenarios"].items())))
    again = validate_scenarios(reordered, scenarios_schema, "scenarios.yaml")
    assert again["order"] == resolved["order"][::-1]
    first = with_changes(config, scenarios={**config["scenarios"], "resolved": resolved})
    second = with_changes(config, scenarios={**config["scenarios"], "resolved": again})
    assert config_fingerprint(first) != config_fingerprint(second)
    moved = with_changes(first, scenarios={**first["scenarios"], "file": "elsewhere.yaml"})
    assert config_fingerprint(moved) == config_fingerprint(first)


def test_a_sweep_of_an_undefined_scenario_is_named(scenarios_document, scenarios_schema):
    scenarios_document["sweeps"][0]["scenario"] = "no_such_scenario"
    with pytest.raises(ConfigError, match=r"scenarios.yaml key 'sweeps.0': scenario 'no_such"):
        validate_scenarios(scenarios_document, scenarios_schema, "scenarios.yaml")


# --------------------------------------------------------------------------------------------
# Year rules from the vintage table
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "decade"), [(2010, 2010), (2019, 2010), (2020, 2020), (2023, 2020)]
)
def test_tract_decade_comes_from_the_vintage_table(config, year, decade):
    assert tract_decade(config, year) == decade


def test_connecticut_2019_and_2023_keep_their_year_rules(config):
    # The values the pipeline's Connecticut outputs were made with, before the vintage table.
    assert [boundary_vintage(config, 2019, layer) for layer in ("tract", "cousub")] == [2019, 2020]
    assert [boundary_vintage(config, 2023, layer) for layer in ("tract", "cousub")] == [2020, 2020]
    assert [tract_decade(config, year) for year in (2019, 2023)] == [2010, 2020]
    assert tract_crosswalk_for(config, "09", 2019) is None
    assert tract_crosswalk_for(config, "09", 2023) is not None


def test_boundaries_of_another_census_are_refused(raw_config, schema):
    # ACS 2019 is tabulated on 2010 tracts: 2020 tract boundaries cannot carry it.
    raw_config["boundary_vintages"]["2019"] = {"tract": 2020, "cousub": 2020}
    with pytest.raises(
        ConfigError,
        match=r"'boundary_vintages.2019.tract': vintage 2020 has 2020 tracts, but the ACS 2019",
    ):
        validate_config(with_changes(raw_config, years=[2019, 2023]), schema)
    # Town boundaries may be of another vintage (town lines seldom change).
    raw_config["boundary_vintages"]["2019"] = {"tract": 2019, "cousub": 2023}
    validate_config(with_changes(raw_config, years=[2019]), schema)


def test_a_crosswalk_without_its_first_year_takes_the_vintage_tables(config):
    del config["tract_geoid_crosswalks"]["09"]["first_acs_year"]
    assert tract_crosswalk_for(config, "09", 2023) is not None  # planning regions from 2022
    assert tract_crosswalk_for(config, "09", 2021) is None
