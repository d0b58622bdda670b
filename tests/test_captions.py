"""Figure captions and alt text: the caption files of workflow/report/ and figures/captions.md."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from docutils.core import publish_parts

from housing_segregation import captions
from housing_segregation.config import load_schema, validate_scenarios

ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = ROOT / "workflow" / "report"

#: A figure of each kind, as the pipeline names them.
EXAMPLE_STEMS = {
    "nonwhite_share": "nonwhite_share_09_2019",
    "dissimilarity": "dissimilarity_09_2023",
    "recaps": "recaps_09_2023",
    "multiscalar_profile": "multiscalar_profile_09_2023",
    "town_assisted_share": "town_assisted_share_09",
    "siting_shares": "siting_shares_09_2023",
    "siting_model": "siting_model_09_2023",
    "scenario_deltas": "scenario_deltas_09_2023",
    "scenario_recaps": "scenario_recaps_09_2023",
    "scenario_sensitivity": "scenario_sensitivity_09_2023",
    "fair_share": "fair_share_09_2023_fair_share_50k_relocation",
    "factsheet": "factsheet_09_2023",
    "dissimilarity_timeseries": "dissimilarity_timeseries_09",
}
#: Caption files that are not a figure's: the workflow description and the tables'.
OTHER_CAPTIONS = {
    "workflow",
    "indices",
    "subsidized_tables",
    "scenario_tables",
    "provenance",
    "manifest",
    "table_schemas",
    "headline_tables",
    "indices_timeseries",
}


@pytest.fixture(scope="module")
def run_config(pipeline_config) -> dict:
    """The config as the report sees it: validated, with the resolved scenarios."""
    config = copy.deepcopy(pipeline_config)
    with open(ROOT / "config" / "scenarios.yaml", encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    config["scenarios"]["resolved"] = validate_scenarios(
        document,
        load_schema(ROOT / "workflow" / "schemas" / "scenarios.schema.yaml"),
        "config/scenarios.yaml",
    )
    return config


def rst_to_html(text: str) -> str:
    """Render reStructuredText as Snakemake's report does, failing on any warning."""
    return publish_parts(
        text,
        writer="html",
        settings_overrides={"halt_level": 2, "report_level": 5},
    )["body"]


def test_every_figure_kind_has_an_example_and_a_caption_file():
    assert set(EXAMPLE_STEMS) == set(captions.FIGURE_KINDS)
    for kind in captions.FIGURE_KINDS:
        assert (REPORT_DIR / f"{kind}.rst").is_file(), kind
    assert captions.CAPTION_DIR == REPORT_DIR


def test_every_caption_file_is_used_by_a_rule_and_every_reference_exists():
    sources = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    referenced = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        referenced |= set(re.findall(r'caption="\.\./report/([a-z_]+)\.rst"', text))
        referenced |= set(re.findall(r'report: "workflow/report/([a-z_]+)\.rst"', text))
    present = {path.stem for path in REPORT_DIR.glob("*.rst")}
    assert referenced == present
    assert present == set(captions.FIGURE_KINDS) | OTHER_CAPTIONS


@pytest.mark.parametrize("kind", sorted(EXAMPLE_STEMS))
def test_figure_captions_render_as_valid_rst_with_alt_text(kind, run_config):
    stem = EXAMPLE_STEMS[kind]
    found, wildcards = captions.figure_kind(stem)
    assert found == kind
    rendered = captions.render_caption_file(
        REPORT_DIR / f"{kind}.rst", wildcards=wildcards, config=run_config
    )
    html = rst_to_html(rendered)
    caption, alt_text = captions.split_alt_text(rendered)
    # The alt text is a comment: not shown in the report, and not part of the caption.
    visible = " ".join(re.sub(r"<!--.*?-->", "", html, flags=re.S).split())
    assert "<!--" in html and alt_text[:60] not in visible
    assert "alt text" not in caption
    assert len(caption) > 200 and len(alt_text) > 150
    # Every caption names its data source; where the figure has a year, the ACS period.
    assert "Data:" in caption
    if "year" in wildcards:
        year = int(wildcards["year"])
        assert f"{year - 4}–{year}" in caption
    assert "{{" not in rendered and "{%" not in rendered


@pytest.mark.parametrize("name", sorted(OTHER_CAPTIONS))
def test_table_and_workflow_captions_render_as_valid_rst(name, run_config):
    rendered = captions.render_caption_file(
        REPORT_DIR / f"{name}.rst", wildcards={}, config=run_config
    )
    assert len(rst_to_html(rendered)) > 300


def test_captions_follow_the_config(run_config):
    config = copy.deepcopy(run_config)
    config["uncertainty"]["level"] = 0.95
    config["uncertainty"]["draws"] = 321
    rendered = captions.render_caption_file(
        REPORT_DIR / "dissimilarity.rst", wildcards={"state": "44", "year": "2019"}, config=config
    )
    assert "95% intervals" in rendered and "321 Monte Carlo draws" in rendered
    assert "2015–2019" in rendered
    fair = captions.render_caption_file(
        REPORT_DIR / "fair_share.rst",
        wildcards={"state": "09", "year": "2023", "scenario": "fair_share_50k"},
        config=config,
    )
    assert config["scenarios"]["resolved"]["scenarios"]["fair_share_50k"]["description"] in fair


@pytest.mark.parametrize(
    ("stem", "kind", "wildcards"),
    [
        ("recaps_09_2023", "recaps", {"state": "09", "year": "2023"}),
        ("scenario_recaps_44_2019", "scenario_recaps", {"state": "44", "year": "2019"}),
        ("town_assisted_share_09", "town_assisted_share", {"state": "09"}),
        (
            "fair_share_09_2023_fair_share_50k",
            "fair_share",
            {"state": "09", "year": "2023", "scenario": "fair_share_50k"},
        ),
    ],
)
def test_figure_kind_reads_the_stem(stem, kind, wildcards):
    assert captions.figure_kind(stem) == (kind, wildcards)


@pytest.mark.parametrize("stem", ["recaps_9_2023", "unknown_09_2023", "recaps_09_2023_extra"])
def test_unknown_figure_stems_are_refused_by_name(stem):
    with pytest.raises(ValueError, match=stem):
        captions.figure_kind(stem)


def test_figure_subcategory_names_state_and_period():
    assert captions.figure_subcategory(SimpleNamespace(state="09", year="2023")) == (
        "CT (09), ACS 2019–2023"
    )
    assert captions.figure_subcategory(SimpleNamespace(state="44")) == "RI (44), town lists"


def test_figure_files_picks_the_figures_of_a_version():
    outputs = [
        "results/v/tables/indices.csv",
        "results/v/figures/recaps_09_2023.png",
        "results/v/figures/recaps_09_2023.pdf",
        "results/v/provenance.json",
        "results/v/figures/captions.md",
        "results/v/figures/town_assisted_share_09.png",
        "results/v/figures/factsheet_09_2023.pdf",
    ]
    assert captions.figure_files(outputs) == [
        "results/v/figures/recaps_09_2023.png",
        "results/v/figures/town_assisted_share_09.png",
        "results/v/figures/factsheet_09_2023.pdf",
    ]


def test_split_alt_text():
    text = "A chart.\n\nMore.\n\n.. alt text:\n   Bars of\n   things.\n"
    assert captions.split_alt_text(text) == ("A chart.\n\nMore.", "Bars of things.")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A chart.\n", "exactly one"),
        ("A chart.\n\n.. alt text:\n", "alt text is empty"),
        (".. alt text:\n   Bars.\n", "caption is empty"),
        ("A.\n\n.. alt text:\n   Bars.\n\nMore caption.\n", "come last"),
        ("A.\n\n.. alt text:\n   B.\n\n.. alt text:\n   C.\n", "exactly one"),
    ],
)
def test_split_alt_text_refuses_malformed_captions(text, problem):
    with pytest.raises(ValueError, match=problem):
        captions.split_alt_text(text, source="x.rst")


def test_rst_to_markdown():
    text = "See ``docs/methods.md`` and `the rule <https://example.org/a>`_, **bold**.  \n\n\n\nEnd"
    assert captions.rst_to_markdown(text) == (
        "See `docs/methods.md` and [the rule](https://example.org/a), **bold**.\n\nEnd"
    )


@pytest.fixture()
def tiny_captions(tmp_path) -> Path:
    """Caption files for two kinds, small enough to check the output by hand."""
    (tmp_path / "recaps.rst").write_text(
        "{% set year = snakemake.wildcards.year|int %}\n"
        "Map of R/ECAPs, ACS {{ year - 4 }}–{{ year }}, ``{{ snakemake.config.name }}``.\n"
        "\n"
        ".. alt text:\n"
        "   Map with\n"
        "   red tracts.\n",
        encoding="utf-8",
    )
    (tmp_path / "town_assisted_share.rst").write_text(
        "Town map.\n\n.. alt text:\n   Towns in colours.\n", encoding="utf-8"
    )
    return tmp_path


def test_captions_markdown_lists_each_figure_once_in_order(tiny_captions):
    figures = [
        "results/v/figures/town_assisted_share_09.png",
        "results/v/figures/recaps_09_2019.png",
        "results/v/figures/town_assisted_share_09.png",
    ]
    text = captions.captions_markdown(
        figures, config={"name": "x"}, version="acs2019_cfg1_code2", caption_dir=tiny_captions
    )
    expected_tail = (
        "## town_assisted_share_09\n"
        "\n"
        "- Files: `town_assisted_share_09.png`, `town_assisted_share_09.svg`, "
        "`town_assisted_share_09.pdf`\n"
        "- Area and period: CT (09), town lists\n"
        "\n"
        "**Caption.**\n"
        "\n"
        "Town map.\n"
        "\n"
        "**Alt text.** Towns in colours.\n"
        "\n"
        "## recaps_09_2019\n"
        "\n"
        "- Files: `recaps_09_2019.png`, `recaps_09_2019.svg`, `recaps_09_2019.pdf`\n"
        "- Area and period: CT (09), ACS 2015–2019\n"
        "\n"
        "**Caption.**\n"
        "\n"
        "Map of R/ECAPs, ACS 2015–2019, `x`.\n"
        "\n"
        "**Alt text.** Map with red tracts.\n"
    )
    assert text.startswith(
        "# Figure captions and alt text\n\nResults version `acs2019_cfg1_code2`."
    )
    assert text.endswith(expected_tail)
    assert re.findall(r"^## (\S+)$", text, flags=re.M) == [
        "town_assisted_share_09",
        "recaps_09_2019",
    ]


def test_captions_markdown_is_deterministic_and_strict(tiny_captions, tmp_path):
    figures = ["results/v/figures/recaps_09_2023.png"]
    first = tmp_path / "first.md"
    second = tmp_path / "second.md"
    for path in (first, second):
        captions.write_captions(
            figures, path, config={"name": "x"}, version="v", caption_dir=tiny_captions
        )
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="name"):
        captions.captions_markdown(figures, config={}, version="v", caption_dir=tiny_captions)
    with pytest.raises(ValueError, match="expected its PNG file"):
        captions.captions_markdown(["results/v/figures/recaps_09_2023.svg"], config={}, version="v")
    with pytest.raises(ValueError, match="no figures"):
        captions.captions_markdown([], config={}, version="v")
    with pytest.raises(ValueError, match="no caption file"):
        captions.captions_markdown(
            ["results/v/figures/siting_model_09_2023.png"],
            config={"name": "x"},
            version="v",
            caption_dir=tiny_captions,
        )


def test_real_captions_cover_every_kind(run_config):
    figures = [
        f"results/v/figures/{stem}{captions.formats(kind)[0]}"
        for kind, stem in EXAMPLE_STEMS.items()
    ]
    text = captions.captions_markdown(figures, config=run_config, version="v")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert [section.split("\n", 1)[0] for section in sections] == list(EXAMPLE_STEMS.values())
    for section in sections:
        alt = re.search(r"^\*\*Alt text\.\*\* (.+)$", section, flags=re.M)
        assert alt and len(alt.group(1)) > 150, section[:60]
        assert "``" not in section and ".. alt text" not in section
