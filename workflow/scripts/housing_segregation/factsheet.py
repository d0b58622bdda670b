"""A two-page fact sheet of one state: key numbers and a map, then one chart per step of the
*Five Steps to Integration* agenda that the run's data support.

Every number is read from the version's own tables, so the fact sheet can be checked against
them line by line. A step whose data the run lacks (no inventory, no scenario of that kind)
gets a panel saying so rather than a chart.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke
from matplotlib.ticker import MaxNLocator

from . import style
from .figures import (
    CORNER_OFFSETS,
    annotate_clear,
    area_outline_layer,
    label_point,
    partial_cbsa_note,
    share_class_layer,
    short_area_name,
)
from .subsidized import PROGRAMS

#: US Letter, portrait (inches).
PAGE_SIZE = (8.5, 11.0)
#: The programs of the siting panel: the total and the largest federal programs.
SITING_PROGRAMS = (
    "assisted_units_total",
    "assisted_units_public_housing",
    "assisted_units_section_8_project_based",
    "assisted_units_lihtc",
)


@dataclasses.dataclass(frozen=True)
class FactsheetData:
    """The tables one state's fact sheet is drawn from (``None``: not produced by the run)."""

    tracts: gpd.GeoDataFrame
    recaps: gpd.GeoDataFrame
    indices: pd.DataFrame
    reference_group: str
    siting: pd.DataFrame | None = None
    town_shares: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    allocation: pd.DataFrame | None = None
    #: Scenario name -> the kinds of its steps (fair_share, voucher_mobility, ...).
    scenario_steps: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    #: Scenario draws, for the interval notes.
    draws: int = 0


def _state_index(indices: pd.DataFrame, index: str, group: str, reference: str) -> pd.Series:
    rows = indices[
        (indices["geography_level"] == "state")
        & (indices["index"] == index)
        & (indices["group"] == group)
        & (indices["reference_group"].fillna("") == reference)
    ]
    if len(rows) != 1:
        raise ValueError(f"indices: expected one state row of {index} {group}–{reference}")
    return rows.iloc[0]


def _interval(row: pd.Series) -> str:
    return f"90% interval {row['ci_low']:.2f}–{row['ci_high']:.2f}"


def key_numbers(data: FactsheetData) -> list[tuple[str, str]]:
    """(figure, what it means) pairs for the first page, from the tables."""
    numbers = []
    for group in ("black_nh", "hispanic"):
        row = _state_index(data.indices, "dissimilarity", group, data.reference_group)
        numbers.append(
            (
                f"{row['value']:.2f}",
                f"{style.label(group)}–white dissimilarity ({_interval(row)}): the share of "
                f"either group that would have to move tracts for an even spread",
            )
        )
    recaps = data.recaps[data.recaps["recap"]]
    shares = {
        group: recaps[group].sum() / data.recaps[group].sum()
        for group in ("black_nh", "hispanic", "white_nh")
    }
    numbers.append(
        (
            f"{len(recaps)}",
            f"R/ECAP tracts, home to {shares['black_nh']:.0%} of Black and "
            f"{shares['hispanic']:.0%} of Hispanic residents, {shares['white_nh']:.1%} of white",
        )
    )
    if data.siting is not None:
        state = data.siting[data.siting["geography_level"] == "state"]
        in_recap = state[state["metric"] == "share_in_recap"].set_index("program")["value"]
        numbers.append(
            (
                f"{in_recap['assisted_units_total']:.0%}",
                f"of assisted housing units are in R/ECAPs, against "
                f"{in_recap['all_housing']:.0%} of all occupied homes",
            )
        )
    if data.town_shares is not None:
        latest = data.town_shares[data.town_shares["year"] == data.town_shares["year"].max()]
        below = latest[latest["below_threshold"] & ~latest["exempt"].fillna(False)]
        numbers.append(
            (
                f"{len(below)} of {len(latest)}",
                f"towns below the 10% affordable-housing threshold of CGS 8-30g "
                f"({int(latest['year'].iloc[0])} list)",
            )
        )
    return numbers


def _map_panel(ax: plt.Axes, data: FactsheetData) -> None:
    handles = share_class_layer(ax, data.tracts)
    flagged = data.recaps[data.recaps["recap"]]
    colour = style.OKABE_ITO["vermillion"]
    flagged.boundary.plot(ax=ax, color=colour, linewidth=1.1)
    handles.append(Line2D([], [], color=colour, linewidth=1.6, label="R/ECAP tract (outline)"))
    handles.append(area_outline_layer(ax, data.tracts, fontsize=6.5))
    ax.set_axis_off()
    ax.set_aspect("equal")
    towns = flagged.groupby("town_name").size().sort_values(ascending=False)
    for town in towns.head(6).index:
        point = label_point(flagged[flagged["town_name"] == town].union_all())
        annotate_clear(ax, town, point, CORNER_OFFSETS, fontsize=6.5, color=colour,
                       fontweight="bold",
                       path_effects=[withStroke(linewidth=2, foreground="white")])  # fmt: skip
    ax.legend(handles=handles, title="Residents not non-Hispanic white\n(% of tract population)",
              loc="lower right", frameon=True, framealpha=0.9, fontsize=6.5,
              title_fontsize=6.5)  # fmt: skip


def _unavailable(ax: plt.Axes, why: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"Not available in this run:\n{why}", ha="center", va="center",
            fontsize=8, color="#555555", transform=ax.transAxes, wrap=True)  # fmt: skip


def _scenarios_with(data: FactsheetData, kinds: set[str]) -> list[str]:
    present = set() if data.scenarios is None else set(data.scenarios["scenario"])
    return [
        name
        for name, steps in data.scenario_steps.items()
        if name in present and kinds & set(steps)
    ]


def _state_metric(data: FactsheetData, metric: str, names: Sequence[str]) -> pd.DataFrame:
    rows = data.scenarios[
        (data.scenarios["geography_level"] == "state") & (data.scenarios["metric"] == metric)
    ]
    return rows.set_index("scenario").reindex(names)


def _delta_dots(ax: plt.Axes, data: FactsheetData, names: Sequence[str]) -> None:
    """Each scenario's change in D (Black and Hispanic against white), with intervals."""
    y = np.arange(len(names))[::-1]
    for offset, group in ((0.15, "black_nh"), (-0.15, "hispanic")):
        rows = _state_metric(data, f"dissimilarity:{group}:{data.reference_group}", names)
        colour, marker = style.GROUP_STYLES[group]
        delta = rows["delta"].to_numpy()
        ax.errorbar(delta, y + offset,
                    xerr=[delta - rows["delta_ci_low"], rows["delta_ci_high"] - delta],
                    fmt=marker, color=colour, markersize=4, capsize=2, elinewidth=1,
                    label=f"{style.label(group)}–white")  # fmt: skip
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.set_yticks(y, [name.replace("_", " ") for name in names])
    ax.set_xlabel("Change in dissimilarity D (0–1 scale)")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    # Wherever it hides no dot: which rows have large changes depends on the scenarios.
    ax.legend(loc="best", fontsize=6.5, frameon=True, framealpha=0.9)


def fair_share_panel(ax: plt.Axes, data: FactsheetData) -> str:
    names = _scenarios_with(data, {"fair_share"})
    if not names or data.allocation is None:
        _unavailable(ax, "no fair-share scenario")
        return "1. Plan a fair share of affordable housing"
    name = names[0]
    rows = data.allocation[data.allocation["scenario"] == name]
    regions = (
        data.tracts.drop_duplicates("county_geoid")
        .assign(region=lambda t: t["county_name"].map(short_area_name))
        .set_index("county_geoid")["region"]
    )
    if "planning_region_geoid" in data.tracts:
        regions = (
            data.tracts.drop_duplicates("planning_region_geoid")
            .assign(region=lambda t: t["planning_region_name"].map(short_area_name))
            .set_index("planning_region_geoid")["region"]
        )
    by_region = rows.groupby("region_geoid")["units"].sum().sort_values()
    labels = [regions.get(str(geoid), str(geoid)) for geoid in by_region.index]
    ax.barh(labels, by_region.to_numpy(), color=style.OKABE_ITO["blue"], height=0.7)
    for y, value in enumerate(by_region.to_numpy()):
        ax.text(value, y, f" {value:,.0f}", va="center", fontsize=6.5)
    ax.set_xlabel("New affordable units allocated")
    ax.set_xlim(0, by_region.max() * 1.25)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    towns = int((rows["units"] > 0).sum())
    return (
        f"1. Fair share: '{name.replace('_', ' ')}' places {rows['units'].sum():,.0f} units "
        f"in {towns} towns, the most in {labels[-1]}"
    )


def siting_panel(ax: plt.Axes, data: FactsheetData) -> str:
    if data.siting is None:
        _unavailable(ax, "no subsidized-housing inventory")
        return "2. Balance where subsidized housing is"
    state = data.siting[data.siting["geography_level"] == "state"]
    values = state.pivot_table(index="program", columns="metric", values="value", aggfunc="first")
    programs = [p for p in SITING_PROGRAMS if p in values.index] + ["all_housing"]
    labels = {**PROGRAMS, "all_housing": "all occupied homes"}
    y = np.arange(len(programs))[::-1]
    for offset, (metric, colour, label) in zip(
        (0.18, -0.18),
        (("share_in_recap", style.OKABE_ITO["vermillion"], "in R/ECAPs"),
         ("share_in_majority_nonwhite", style.OKABE_ITO["blue"], "in majority non-white tracts")),
        strict=True,
    ):  # fmt: skip
        shares = 100 * values.loc[programs, metric].to_numpy()
        ax.barh(y + offset, shares, height=0.34, color=colour, label=label)
        for position, share in zip(y + offset, shares, strict=True):
            ax.text(share, position, f" {share:.0f}%", va="center", fontsize=6)
    ax.set_yticks(y, [labels[p] for p in programs])
    ax.set_xlabel("% of units (homes) in such tracts")
    ax.set_xlim(0, 100)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=6.5,
              frameon=False)  # fmt: skip
    recap = values["share_in_recap"]
    return (
        f"2. Siting: {recap['assisted_units_total']:.0%} of assisted units are in R/ECAPs, "
        f"against {recap['all_housing']:.0%} of all homes"
    )


def voucher_panel(ax: plt.Axes, data: FactsheetData) -> str:
    names = _scenarios_with(data, {"voucher_mobility"})
    if not names:
        _unavailable(ax, "no voucher-mobility scenario")
        return "3. Widen voucher choice"
    _delta_dots(ax, data, names)
    lead = _state_metric(data, f"dissimilarity:black_nh:{data.reference_group}", names)["delta"]
    return (
        f"3. Vouchers: '{lead.idxmin().replace('_', ' ')}' lowers Black–white D most "
        f"({lead.min():+.3f})".replace("-", "−")
    )


def evidence_panel(ax: plt.Axes, data: FactsheetData) -> str:
    level = "planning_region" if "planning_region" in set(data.indices["geography_level"]) else (
        "county"
    )  # fmt: skip
    rows = data.indices[
        (data.indices["index"] == "dissimilarity")
        & (data.indices["group"] == "black_nh")
        & (data.indices["reference_group"] == data.reference_group)
        & (data.indices["geography_level"] == level)
    ].sort_values("value")
    state = _state_index(data.indices, "dissimilarity", "black_nh", data.reference_group)
    y = np.arange(len(rows))
    colour, marker = style.GROUP_STYLES["black_nh"]
    ax.errorbar(rows["value"], y, xerr=[rows["value"] - rows["ci_low"],
                                        rows["ci_high"] - rows["value"]],
                fmt=marker, color=colour, markersize=4, capsize=2)  # fmt: skip
    ax.axvline(state["value"], color="#555555", linewidth=0.8, linestyle="--")
    ax.text(state["value"], 0.01, " state", fontsize=6.5, color="#555555", va="bottom",
            transform=ax.get_xaxis_transform())  # fmt: skip
    ax.set_yticks(y, [short_area_name(name) for name in rows["geography_name"]])
    ax.set_xlabel("Black–white D (90% interval)")
    ax.set_xlim(0, 1)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    widest = (rows["ci_high"] - rows["ci_low"]).max()
    return (
        f"4. Evidence: Black–white D runs {rows['value'].min():.2f}–{rows['value'].max():.2f} "
        f"across {len(rows)} regions; no interval is wider than {widest:.2f}"
    )


def income_mixing_panel(ax: plt.Axes, data: FactsheetData) -> str:
    names = _scenarios_with(data, {"income_mixing", "fair_share", "gap_to_threshold"})
    if not names:
        _unavailable(ax, "no income-mixing or fair-share scenario")
        return "5. Invest and mix incomes without displacement"
    rows = _state_metric(data, "recap_tracts", names)
    today = float(rows["baseline"].iloc[0])
    y = np.arange(len(names))[::-1]
    values = rows["value"].to_numpy()
    ax.barh(y, values, color=style.OKABE_ITO["bluish_green"], height=0.6)
    ax.errorbar(values, y, xerr=[rows["delta"] - rows["delta_ci_low"],
                                 rows["delta_ci_high"] - rows["delta"]],
                fmt="none", color="#333333", capsize=2, elinewidth=0.8)  # fmt: skip
    ax.axvline(today, color="#555555", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, [name.replace("_", " ") for name in names])
    ax.set_xlabel(f"R/ECAP tracts under the scenario (dashed: today, {today:.0f})")
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    best = rows["value"].idxmin()
    return (
        f"5. Mixed incomes, fewer R/ECAPs: {today:.0f} tracts today, "
        f"{rows['value'].min():.0f} under '{best.replace('_', ' ')}'"
    )


STEP_PANELS: tuple[Callable[[plt.Axes, FactsheetData], str], ...] = (
    fair_share_panel,
    siting_panel,
    voucher_panel,
    evidence_panel,
    income_mixing_panel,
)


def factsheet_pages(data: FactsheetData, *, source: str, analysis_version: str) -> list[plt.Figure]:
    """The fact sheet's two pages (figures to be saved as one PDF)."""
    year = int(data.tracts["year"].iloc[0])
    state = data.tracts["state_name"].iloc[0]
    period = style.acs_period(year)
    credit = (
        f"Source: {style.acs_source(year)}; {source}. Analysis: housing-segregation "
        f"{analysis_version}."
    )
    with plt.rc_context(style.RC):
        first = plt.figure(figsize=PAGE_SIZE)
        style.headline(
            first,
            f"Residential segregation in {state}: key numbers",
            f"{len(data.tracts)} census tracts, ACS {period} 5-year estimates; intervals are "
            "90% Monte Carlo intervals from the ACS margins of error",
        )
        numbers = key_numbers(data)
        top = 1 - 1.0 / PAGE_SIZE[1]
        for position, (figure, meaning) in enumerate(numbers):
            y = top - position * 0.055
            first.text(0.04, y, figure, fontsize=17, fontweight="bold", va="top",
                       color=style.OKABE_ITO["blue"])  # fmt: skip
            first.text(0.25, y - 0.004, meaning, fontsize=8.5, va="top", wrap=True)
        map_top = top - len(numbers) * 0.055 - 0.01
        ax = first.add_axes((0.02, 0.07, 0.96, map_top - 0.1))
        _map_panel(ax, data)
        first.text(0.04, map_top - 0.005,
                   f"Where {state}'s residents of colour live, and its R/ECAPs, by census tract",
                   fontsize=9.5, fontweight="bold", va="top")  # fmt: skip
        # The R/ECAP count and outlines above rest on CBSA means; say which are partial.
        style.source_line(first, credit + partial_cbsa_note(data.recaps, state) + " Page 1 of 2.")

        second = plt.figure(figsize=PAGE_SIZE)
        intervals = (
            f"scenario changes are against today, with 90% intervals from {data.draws:,} "
            "Monte Carlo draws of the ACS margins of error"
            if data.scenarios is not None
            else "90% intervals from Monte Carlo draws of the ACS margins of error"
        )
        style.headline(
            second,
            "Five Steps to Integration: what the data show",
            f"ACS {period}; {intervals}",
        )
        axes = second.subplots(3, 2, gridspec_kw={"hspace": 0.75, "wspace": 0.95})
        second.subplots_adjust(left=0.22, right=0.97, top=1 - 1.35 / PAGE_SIZE[1], bottom=0.1)
        for ax, panel in zip(axes.flat, STEP_PANELS, strict=False):
            title = textwrap.fill(panel(ax, data), 48)
            ax.set_title(title, fontsize=8.5, loc="left", x=-0.6, fontweight="bold")
        _notes_panel(axes.flat[-1])
        style.source_line(second, credit + " Page 2 of 2.")
    return [first, second]


def _notes_panel(ax: plt.Axes) -> None:
    ax.set_axis_off()
    ax.text(
        -0.6, 1.0,
        "How to read this\n"
        "• D is 0 when every tract has the same mix,\n  1 when groups share no tract.\n"
        "• R/ECAP: HUD's racially or ethnically concentrated area of\n"
        "  poverty (≥ 50% not non-Hispanic white; poverty ≥ 40%, or ≥ 3×\n"
        "  the metro mean if lower).\n"
        "• Scenarios are models, not forecasts: they move households or\n"
        "  homes as config/scenarios.yaml says, and re-measure.\n"
        "• Every number here is in the tables of this results version;\n"
        "  docs/methods.md gives the formulas.",
        fontsize=7, va="top", ha="left", transform=ax.transAxes, linespacing=1.4,
    )  # fmt: skip


def write_factsheet(pages: Sequence[plt.Figure], path: str | Path) -> None:
    """Save the pages as one PDF with no dates or producer strings (byte-identical reruns),
    via a temporary file."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with plt.rc_context(style.RC), PdfPages(partial, metadata=style.PDF_METADATA) as pdf:
        for page in pages:
            pdf.savefig(page)
    for page in pages:
        plt.close(page)
    partial.replace(target)
