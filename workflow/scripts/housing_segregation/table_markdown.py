"""Markdown renderings of the headline tables, from the version's CSVs only.

Each rendering states above its table the year(s) and geography it covers, its units and
rounding, and the CSV it was rendered from. The bytes depend on the CSVs alone (no time
stamp, no software string), so a rebuild reproduces them. The tables are written by a tiny
renderer here rather than pandas' ``to_markdown`` (tabulate), whose padding may change
between versions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

#: Headline rendering -> the table it is rendered from (both under ``tables/``).
HEADLINES = {
    "indices_headline.md": "indices.csv",
    "scenarios_headline.md": "scenarios.csv",
    "siting_headline.md": "siting_metrics.csv",
}

#: Levels shown beside the state in the indices headline, most specific first: a state's
#: planning regions where it has them, else its counties.
REGION_LEVELS = ("planning_region", "county")

#: Shown for a missing value.
MISSING = "—"


def headline_files(tables: Iterable[str]) -> list[str]:
    """The headline renderings of the tables among ``tables`` (paths), beside them."""
    by_name = {Path(t).name: Path(t) for t in tables}
    return [
        str(by_name[source].with_name(name))
        for name, source in HEADLINES.items()
        if source in by_name
    ]


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def fixed(value: float | None, decimals: int) -> str:
    """``value`` rounded to ``decimals`` (no "-0.000"); :data:`MISSING` if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    text = f"{float(value):.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def with_interval(value, low, high, decimals: int) -> str:
    """``0.626 [0.620, 0.632]``; the value alone where the interval is missing."""
    shown = fixed(value, decimals)
    if MISSING in (shown, fixed(low, decimals), fixed(high, decimals)):
        return shown
    return f"{shown} [{fixed(low, decimals)}, {fixed(high, decimals)}]"


def percent(share: float | None, decimals: int = 1) -> str:
    """A fraction as a percent: 0.1504 -> ``15.0``."""
    if share is None or not math.isfinite(float(share)):
        return MISSING
    return fixed(100 * float(share), decimals)


def count(value: float | None) -> str:
    """A whole count with thousands separators: ``86,964``."""
    if value is None or not math.isfinite(float(value)):
        return MISSING
    return f"{round(float(value)):,}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], align: Sequence[str]
) -> str:
    """A GitHub-flavoured Markdown table, columns padded to their widest cell; ``align``:
    ``l`` or ``r`` per column. Pipes in cells are escaped."""
    if len(align) != len(header) or any(len(row) != len(header) for row in rows):
        raise ValueError("markdown table: every row and the alignment need one entry per column")
    if any(a not in ("l", "r") for a in align):
        raise ValueError(f"markdown table: alignment must be 'l' or 'r', got {list(align)}")
    cells = [[_cell(h) for h in header], *([_cell(c) for c in row] for row in rows)]
    widths = [max(3, *(len(row[i]) for row in cells)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        padded = [
            text.rjust(width) if a == "r" else text.ljust(width)
            for text, width, a in zip(row, widths, align, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ("-" * (w - 1) + ":") if a == "r" else "-" * w for w, a in zip(widths, align, strict=True)
    ]
    return "\n".join([line(cells[0]), line(rule), *(line(row) for row in cells[1:])]) + "\n"


#: Labels of the groups style.GROUP_LABELS leaves out.
_MORE_LABELS = {
    "below_150_poverty": "below 150% of poverty",
    "above_150_poverty": "above 150% of poverty",
}


def _label(group: str) -> str:
    from .style import GROUP_LABELS

    return GROUP_LABELS.get(group) or _MORE_LABELS.get(group) or group.replace("_", " ")


def _years(years: Iterable[object]) -> str:
    values = sorted({int(y) for y in years})
    return " and ".join(str(y) for y in values)


def _document(title: str, notes: Sequence[str], sections: Sequence[tuple[str, str]]) -> str:
    parts = [f"# {title}\n", *(f"{note}\n" for note in notes)]
    for heading, table in sections:
        parts.append(f"## {heading}\n\n{table}")
    return "\n".join(parts)


def _level_name(level: str) -> str:
    return {"planning_region": "planning regions", "county": "counties"}.get(level, level)


def _ordered_pairs(pairs: Iterable[tuple[str, str]], groups: Sequence[str]) -> list:
    """Pairs with the configured groups first, in config order, then the rest as given."""
    seen = list(dict.fromkeys(pairs))
    rank = {group: position for position, group in enumerate(groups)}
    return sorted(seen, key=lambda pair: (rank.get(pair[0], len(rank)), seen.index(pair)))


# --------------------------------------------------------------------------------------------
# The headline tables
# --------------------------------------------------------------------------------------------


def indices_headline(
    indices: pd.DataFrame,
    *,
    interval_level: float,
    groups: Sequence[str] = (),
    source: str = "tables/indices.csv",
) -> str:
    """Dissimilarity and isolation of each compared pair, for each state and its planning
    regions (else counties), per year, with their Monte Carlo intervals. ``groups``: the
    configured focal groups, listed first."""
    table = indices.copy()
    table["reference_group"] = table["reference_group"].fillna("")
    dissimilarity = table[(table["index"] == "dissimilarity") & (table["reference_group"] != "")]
    pairs = _ordered_pairs(
        zip(dissimilarity["group"], dissimilarity["reference_group"], strict=True), groups
    )
    isolation = table[table["index"] == "isolation"].set_index(
        ["year", "geography_level", "geography_id", "group"]
    )
    by_key = dissimilarity.set_index(
        ["year", "geography_level", "geography_id", "group", "reference_group"]
    )
    level = f"{interval_level:.0%}"
    sections, levels_shown = [], set()
    for year in sorted(table["year"].unique()):
        states = table[(table["year"] == year) & (table["geography_level"] == "state")]
        for state_id, state_name in dict(
            zip(states["geography_id"], states["geography_name"], strict=True)
        ).items():
            of_state = table[
                (table["year"] == year) & table["geography_id"].str.startswith(state_id)
            ]
            region_level = next(
                (lv for lv in REGION_LEVELS if (of_state["geography_level"] == lv).any()), None
            )
            areas = [("state", state_id, state_name)]
            if region_level is not None:
                levels_shown.add(region_level)
                regions = (
                    of_state[of_state["geography_level"] == region_level]
                    .drop_duplicates("geography_id")
                    .sort_values("geography_id")
                )
                areas += [
                    (region_level, gid, name)
                    for gid, name in zip(
                        regions["geography_id"], regions["geography_name"], strict=True
                    )
                ]
            rows = []
            for area_level, gid, name in areas:
                for group, reference in pairs:
                    key = (year, area_level, gid, group, reference)
                    if key not in by_key.index:
                        continue
                    d = by_key.loc[key]
                    iso_key = (year, area_level, gid, group)
                    iso = isolation.loc[iso_key] if iso_key in isolation.index else None
                    rows.append(
                        [
                            name,
                            area_level.replace("_", " "),
                            gid,
                            f"{_label(group)} vs {_label(reference)}",
                            with_interval(d["value"], d["ci_low"], d["ci_high"], 3),
                            MISSING
                            if iso is None
                            else with_interval(iso["value"], iso["ci_low"], iso["ci_high"], 3),
                        ]
                    )
            heading = f"{state_name} ({state_id}), ACS {int(year)}"
            sections.append(
                (
                    heading,
                    markdown_table(
                        [
                            "Area",
                            "Level",
                            "GEOID",
                            "Group vs reference",
                            "Dissimilarity",
                            "Isolation of the group",
                        ],
                        rows,
                        "llllrr",
                    ),
                )
            )
    where = " and ".join(
        ["states", *(_level_name(lv) for lv in REGION_LEVELS if lv in levels_shown)]
    )
    notes = [
        f"Year(s): ACS 5-year estimates ending {_years(table['year'])}. Geography: {where} "
        "(GEOIDs as text).",
        f"Units: index values on a 0–1 scale, rounded to 3 decimals; in brackets the {level} "
        "Monte Carlo interval (`ci_low`, `ci_high`), rounded the same way. Isolation is the "
        "focal group's own isolation (the reference group does not enter).",
        f"Source: `{source}` (rows with `index` `dissimilarity` or `isolation`); every "
        "other index and area is in the CSV.",
    ]
    return _document("Segregation: dissimilarity and isolation", notes, sections)


def scenarios_headline(
    scenarios: pd.DataFrame,
    *,
    interval_level: float,
    groups: Sequence[str] = (),
    names: Mapping[str, str] | None = None,
    source: str = "tables/scenarios.csv",
) -> str:
    """Each scenario's Δ dissimilarity per pair at state level, with its interval, under the
    baseline; one table per state and year. ``names``: GEOID -> area name, where known."""
    table = scenarios[scenarios["geography_level"] == "state"].copy()
    parts = table["metric"].str.split(":", expand=True).reindex(columns=range(3))
    table = table[(parts[0] == "dissimilarity") & parts[2].notna()].assign(
        group=parts[1], reference_group=parts[2]
    )
    pairs = _ordered_pairs(zip(table["group"], table["reference_group"], strict=True), groups)
    names = names or {}
    level = f"{interval_level:.0%}"
    sections = []
    for (year, state_id), rows_of in table.groupby(["year", "geography_id"], sort=True):
        header = ["Scenario", *(f"{_label(g)} vs {_label(r)}" for g, r in pairs)]
        cells = rows_of.set_index(["scenario", "group", "reference_group"])
        baseline = ["baseline (dissimilarity today)"]
        for group, reference in pairs:
            held = rows_of[(rows_of["group"] == group) & (rows_of["reference_group"] == reference)]
            baseline.append(fixed(held["baseline"].iloc[0], 3) if len(held) else MISSING)
        rows = [baseline]
        for scenario in dict.fromkeys(rows_of["scenario"]):
            row = [f"Δ {scenario}"]
            for group, reference in pairs:
                key = (scenario, group, reference)
                if key in cells.index:
                    c = cells.loc[key]
                    row.append(with_interval(c["delta"], c["delta_ci_low"], c["delta_ci_high"], 3))
                else:
                    row.append(MISSING)
            rows.append(row)
        name = names.get(state_id, f"state {state_id}")
        sections.append(
            (
                f"{name} ({state_id}), ACS {int(year)}",
                markdown_table(header, rows, ["l", *("r" * len(pairs))]),
            )
        )
    notes = [
        f"Year(s): ACS 5-year estimates ending {_years(table['year'])}, the tracts the "
        "scenarios ran on. Geography: states (GEOIDs as text).",
        "Units: dissimilarity on a 0–1 scale, rounded to 3 decimals. The first row is the "
        "baseline (today); each other row is the scenario's Δ = scenario − baseline, with "
        f"the {level} Monte Carlo interval of Δ from paired draws in brackets "
        "(`delta_ci_low`, `delta_ci_high`), rounded the same way. Negative: less segregated.",
        f"Source: `{source}` (rows with `geography_level` `state` and `metric` "
        "`dissimilarity:<group>:<reference>`); every other outcome and area is in the CSV.",
    ]
    return _document("Policy scenarios: change in dissimilarity", notes, sections)


def _program_label(program: str) -> str:
    from .siting import ALL_HOUSING
    from .subsidized import program_label

    if program == ALL_HOUSING:
        return "all occupied homes (comparison)"
    try:
        return program_label(program)
    except ValueError:
        return program


def siting_headline(metrics: pd.DataFrame, *, source: str = "tables/siting_metrics.csv") -> str:
    """Per state and year: each program's units and the share of them in R/ECAPs and in
    majority non-white tracts."""
    shown = ("share_in_recap", "share_in_majority_nonwhite")
    table = metrics[metrics["geography_level"] == "state"]
    sections = []
    for (year, state_id), of_state in table.groupby(["year", "geography_id"], sort=True):
        wide = of_state.pivot_table(
            index="program", columns="metric", values="value", aggfunc="first", sort=False
        )
        programs = [
            p
            for p in dict.fromkeys(of_state["program"])
            if p in wide.index and all(m in wide.columns and pd.notna(wide.at[p, m]) for m in shown)
        ]
        if not programs:
            continue
        rows = [
            [
                _program_label(p),
                p,
                count(wide.at[p, "units"]) if "units" in wide.columns else MISSING,
                percent(wide.at[p, "share_in_recap"]),
                percent(wide.at[p, "share_in_majority_nonwhite"]),
            ]
            for p in programs
        ]
        name = of_state["geography_name"].iloc[0]
        sections.append(
            (
                f"{name} ({state_id}), ACS {int(year)}",
                markdown_table(
                    [
                        "Program",
                        "`program`",
                        "Units or households",
                        "In R/ECAPs (%)",
                        "In majority non-white tracts (%)",
                    ],
                    rows,
                    "llrrr",
                ),
            )
        )
    years = [
        y for (y, _), g in table.groupby(["year", "geography_id"]) if g["metric"].isin(shown).any()
    ]
    notes = [
        f"Year(s): ACS 5-year estimates ending {_years(years)} (the tracts the units are "
        "placed in). Geography: states (GEOIDs as text).",
        "Units: counts of units (households for HUD's household counts), rounded to whole "
        "numbers; shares in percent of the program's units in the state, rounded to 1 "
        "decimal. The comparison row is every occupied home, weighted the same way. "
        "R/ECAP: HUD's racially or ethnically concentrated area of poverty; majority "
        "non-white: more than half of residents not non-Hispanic white.",
        f"Source: `{source}` (rows with `geography_level` `state` and `metric` `units`, "
        "`share_in_recap`, `share_in_majority_nonwhite`); other areas and metrics are in "
        "the CSV.",
    ]
    return _document(
        "Siting of assisted housing: shares in R/ECAPs and majority non-white tracts",
        notes,
        sections,
    )


# --------------------------------------------------------------------------------------------
# From the files
# --------------------------------------------------------------------------------------------

#: Columns of the tables read as text (GEOIDs keep their leading zeros).
_TEXT_COLUMNS = {"geography_id": str, "reference_group": str}


def read_csv(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=_TEXT_COLUMNS, keep_default_na=False, na_values=[""])


def write_headlines(
    tables: Mapping[str, str],
    outputs: Sequence[str],
    *,
    interval_level: float,
    groups: Sequence[str] = (),
) -> None:
    """Render each of ``outputs`` (file names of :data:`HEADLINES`) from ``tables`` (table
    file name -> path; ``indices.csv`` always, for the area names). Sources are named
    relative to the version folder (``tables/<name>``)."""
    indices = read_csv(tables["indices.csv"])
    names = dict(zip(indices["geography_id"], indices["geography_name"], strict=True))
    for output in outputs:
        name = Path(output).name
        if name not in HEADLINES:
            raise ValueError(f"headline tables: no rendering named {name}")
        source = HEADLINES[name]
        if source not in tables:
            raise ValueError(f"headline tables: {name} needs {source}, which the run lacks")
        label = f"tables/{source}"
        if source == "indices.csv":
            text = indices_headline(
                indices, interval_level=interval_level, groups=groups, source=label
            )
        elif source == "scenarios.csv":
            text = scenarios_headline(
                read_csv(tables[source]),
                interval_level=interval_level,
                groups=groups,
                names=names,
                source=label,
            )
        else:
            text = siting_headline(read_csv(tables[source]), source=label)
        Path(output).write_text(text, encoding="utf-8", newline="\n")
