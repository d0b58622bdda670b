"""Figures of the policy scenarios: Δ dissimilarity, the fair-share map, R/ECAP changes and
sensitivity curves. Every figure uses :mod:`style` and states its source."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from itertools import pairwise

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from . import style
from .figures import largest_place_labels

#: Fair-share map classes: lower edges of new units per town (a town with none is grey).
ALLOCATION_BREAKS = (1, 100, 250, 500, 1000)


def _state_rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    return table[(table["geography_level"] == "state") & (table["metric"] == metric)]


def delta_chart(
    table: pd.DataFrame,
    *,
    descriptions: Mapping[str, str],
    groups: Sequence[str],
    reference_group: str,
    year: int,
    state_name: str,
    draws: int,
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """Dot-and-whisker chart of each scenario's Δ dissimilarity (state level) for each group
    against ``reference_group``, with its Monte Carlo interval; scenarios in file order."""
    names = [name for name in descriptions if name in set(table["scenario"])]
    if not names:
        raise ValueError("scenario table: no scenario to plot")
    rows = len(names)
    height = 1.9 + 0.42 * rows
    offsets = np.linspace(-0.24, 0.24, len(groups)) if len(groups) > 1 else np.zeros(1)
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, height))
        fig.subplots_adjust(left=0.3, right=0.97, top=1 - 1.2 / height, bottom=0.85 / height)
        handles = []
        for offset, group in zip(offsets, groups, strict=True):
            colour, marker = style.GROUP_STYLES.get(group, (style.OKABE_ITO["black"], "o"))
            rows_ = _state_rows(table, f"dissimilarity:{group}:{reference_group}").set_index(
                "scenario"
            )
            y = np.arange(rows)[::-1] + offset
            delta = rows_["delta"].reindex(names).to_numpy()
            low = rows_["delta_ci_low"].reindex(names).to_numpy()
            high = rows_["delta_ci_high"].reindex(names).to_numpy()
            ax.errorbar(delta, y, xerr=[delta - low, high - delta], fmt=marker, color=colour,
                        markersize=4.5, elinewidth=1.1, capsize=2)  # fmt: skip
            handles.append(Line2D([], [], marker=marker, color=colour, linestyle="none",
                                  label=style.label(group)))  # fmt: skip
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_yticks(np.arange(rows)[::-1], [name.replace("_", " ") for name in names])
        ax.set_xlabel("Change in dissimilarity index D (scenario − today; D runs from 0 to 1)")
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.legend(handles=handles, loc="lower left", frameon=True, framealpha=0.9,
                  title="Group against non-Hispanic white")  # fmt: skip
        lead = (
            _state_rows(table, f"dissimilarity:{groups[0]}:{reference_group}")
            .set_index("scenario")["delta"]
            .reindex(names)
        )
        best = lead.idxmin()
        today = _baseline(table, groups[0], reference_group)
        style.headline(
            fig,
            f"{state_name}: '{best.replace('_', ' ')}' lowers {style.label(groups[0])}–white "
            f"segregation most\n(D {lead[best]:+.3f} from {today:.3f})".replace("-", "−"),
            f"Change in the statewide dissimilarity index per scenario, 90% intervals from "
            f"{draws:,} Monte Carlo draws; ACS {style.acs_period(year)}",
        )
        style.source_line(fig, f"Source: {style.acs_source(year)}; {source}. Scenarios: "
                                f"config/scenarios.yaml. Analysis: housing-segregation "
                                f"{analysis_version}.")  # fmt: skip
    return fig


def _baseline(table: pd.DataFrame, group: str, reference_group: str) -> float:
    return float(_state_rows(table, f"dissimilarity:{group}:{reference_group}")["baseline"].iloc[0])


def allocation_map(
    towns: gpd.GeoDataFrame,
    *,
    scenario: str,
    description: str,
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """Town map of one scenario's new units, in classes, with region outlines; towns left
    out (at 10% already, with an R/ECAP, too poor) are marked apart."""
    units = towns["units"].astype(int)
    year = int(towns["year"].iloc[0])
    classes = np.digitize(units, ALLOCATION_BREAKS)  # 0: none
    shades = plt.get_cmap("Purples")(np.linspace(0.3, 0.9, len(ALLOCATION_BREAKS)))
    colours = ["#f2f2f2", *(to_hex(shade) for shade in shades)]
    edges = [*ALLOCATION_BREAKS, None]
    labels = [
        f"{low:,}–{high - 1:,}" if high else f"{low:,} or more" for low, high in pairwise(edges)
    ]
    reasons = {
        "at_threshold": "none: at 10% already",
        "recap": "none: has an R/ECAP",
        "poverty": "none: poverty above the limit",
    }
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, 6.0))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.95 / 6.0, bottom=0.45 / 6.0)
        towns.plot(ax=ax, color=[colours[c] for c in classes], edgecolor="white", linewidth=0.4)
        excluded = towns[towns["exclusion"].isin(["recap", "poverty"])]
        if not excluded.empty:
            excluded.plot(ax=ax, facecolor="none", edgecolor="#888888", hatch="////",
                          linewidth=0.0)  # fmt: skip
        regions = towns.dissolve(by="region_geoid", as_index=False)
        regions.boundary.plot(ax=ax, color="#222222", linewidth=0.8)
        ax.set_axis_off()
        ax.set_aspect("equal")
        largest_place_labels(ax, towns, weight="households", name="town_name")
        counts = np.bincount(classes, minlength=len(colours))
        handles = [
            Patch(facecolor=colour, label=f"{text}  ({count})")
            for colour, text, count in zip(colours[1:], labels, counts[1:], strict=True)
        ]
        for reason, text in reasons.items():
            count = int((towns["exclusion"] == reason).sum())
            if count:
                hatch = "////" if reason != "at_threshold" else None
                handles.append(Patch(facecolor="#f2f2f2", edgecolor="#888888", hatch=hatch,
                                     linewidth=0.3, label=f"{text}  ({count})"))  # fmt: skip
        handles.append(Line2D([], [], color="#222222", linewidth=0.8, label="planning region"))
        ax.legend(handles=handles, title="New affordable units (towns)", loc="lower right",
                  frameon=True, framealpha=0.9)  # fmt: skip
        top = towns.sort_values("units", ascending=False).iloc[0]
        receiving = int((units > 0).sum())
        style.headline(
            fig,
            f"{units.sum():,} new units by fair share reach {receiving} of {len(towns)} towns;\n"
            f"the most go to {top['town_name']} ({int(top['units']):,})",
            textwrap.fill(f"Scenario '{scenario}': {description}", 100),
        )
        style.source_line(
            fig,
            f"Source: {source}; {style.acs_source(year)}; town boundaries: U.S. Census Bureau "
            f"cartographic boundary files. Analysis: housing-segregation {analysis_version}.",
        )
    return fig


def recap_change_map(
    tracts: gpd.GeoDataFrame,
    changes: pd.DataFrame,
    table: pd.DataFrame,
    *,
    descriptions: Mapping[str, str],
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """Where R/ECAP status changes: a map of today's R/ECAPs shaded by how many scenarios
    end their status (and tracts that become R/ECAPs under any), beside each scenario's
    statewide count, by HUD's rule recomputed and with today's thresholds held."""
    names = [name for name in descriptions if name in set(changes["scenario"])]
    if not names:
        raise ValueError("scenario tracts: no scenario to map")
    year = int(changes["year"].iloc[0])
    wide = changes[changes["scenario"].isin(names)].pivot(
        index="geoid", columns="scenario", values="recap"
    )
    before = changes.drop_duplicates("geoid").set_index("geoid")["recap_baseline"].astype(bool)
    after = wide.reindex(before.index).fillna(False).astype(bool)
    leaves = (before.to_numpy()[:, None] & ~after.to_numpy()).sum(axis=1)
    joins = (~before.to_numpy()[:, None] & after.to_numpy()).any(axis=1)
    frame = tracts[["geoid", "town_name", "geometry"]].merge(
        pd.DataFrame({"geoid": before.index, "baseline": before.to_numpy(), "leaves": leaves,
                      "joins": joins}), on="geoid", how="left",
    )  # fmt: skip
    classes = [
        ("R/ECAP under every scenario", "#444444", frame["baseline"] & (frame["leaves"] == 0)),
    ]
    bins = np.array_split(np.arange(1, len(names) + 1), min(3, len(names)))
    greens = plt.get_cmap("Greens")(np.linspace(0.45, 0.9, len(bins)))
    for colour, members in zip(greens, bins, strict=True):
        text = f"{members[0]}" if len(members) == 1 else f"{members[0]}–{members[-1]}"
        classes.append((f"no longer one under {text} scenario(s)", to_hex(colour),
                        frame["baseline"] & frame["leaves"].isin(members)))  # fmt: skip
    classes.append(("becomes one under a scenario", style.OKABE_ITO["vermillion"],
                    ~frame["baseline"].astype(bool) & frame["joins"].astype(bool)))  # fmt: skip
    state = table[table["geography_level"] == "state"]
    recomputed = state[state["metric"] == "recap_tracts"].set_index("scenario")["value"]
    held = state[state["metric"] == "recap_tracts_baseline_thresholds"].set_index("scenario")
    height = 7.0
    with plt.rc_context(style.RC):
        fig = plt.figure(figsize=(7.5, height))
        map_ax = fig.add_axes((0.0, 1.6 / height, 0.6, 1 - 2.7 / height))
        bar_ax = fig.add_axes((0.8, 1.9 / height, 0.18, 1 - 3.0 / height))
        frame.plot(ax=map_ax, color="#ececec", edgecolor="none")
        for _, colour, mask in classes:
            if mask.any():
                frame[mask].plot(ax=map_ax, color=colour, edgecolor=colour, linewidth=0.4)
        flagged = frame[frame["baseline"].astype(bool)]
        towns = flagged.groupby("town_name").size().sort_values(ascending=False)
        for town in towns.head(9).index:
            point = flagged[flagged["town_name"] == town].union_all().representative_point()
            map_ax.annotate(town, (point.x, point.y), xytext=(5, 5), textcoords="offset points",
                            fontsize=6.5, bbox={"boxstyle": "round,pad=0.1", "fc": "white",
                                                "ec": "none", "alpha": 0.8})  # fmt: skip
        map_ax.set_axis_off()
        map_ax.set_aspect("equal")
        handles = [
            Patch(facecolor=colour, label=f"{text}  ({int(mask.sum())})")
            for text, colour, mask in classes
        ]
        map_ax.legend(handles=handles, title="Census tracts", loc="upper left",
                      bbox_to_anchor=(0.0, -0.0), frameon=False, ncol=2)  # fmt: skip
        positions = np.arange(len(names))[::-1]
        bar_ax.barh(positions + 0.18, recomputed.reindex(names), height=0.36,
                    color=style.OKABE_ITO["blue"], label="HUD rule recomputed")  # fmt: skip
        bar_ax.barh(positions - 0.18, held["value"].reindex(names), height=0.36,
                    color=style.OKABE_ITO["sky_blue"], label="today's thresholds")  # fmt: skip
        baseline = int(before.sum())
        bar_ax.axvline(baseline, color="#555555", linestyle="--", linewidth=0.8)
        bar_ax.set_yticks(positions, [name.replace("_", " ") for name in names], fontsize=7)
        bar_ax.set_xlabel(f"R/ECAP tracts\n(dashed: today, {baseline})")
        bar_ax.legend(loc="upper center", bbox_to_anchor=(0.2, -0.16), frameon=False, fontsize=7)
        style.headline(
            fig,
            f"R/ECAPs under the scenarios: {int(recomputed.reindex(names).min())}–"
            f"{int(recomputed.reindex(names).max())} tracts, against {baseline} today",
            "HUD's rule recomputed on each scenario's counts moves its poverty threshold with "
            "the CBSA mean;\nthe light bars hold today's thresholds. Point estimates; ACS "
            f"{style.acs_period(year)}",
        )
        style.source_line(fig, f"Source: {style.acs_source(year)}; {source}. Analysis: "
                                f"housing-segregation {analysis_version}.")  # fmt: skip
    return fig


def sensitivity_chart(
    sweeps: pd.DataFrame,
    *,
    groups: Sequence[str],
    reference_group: str,
    state_name: str,
    year: int,
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """One panel per sweep: the statewide Δ dissimilarity of each group against its
    parameter's values, with 90% intervals."""
    names = list(dict.fromkeys(sweeps["sweep"]))
    if not names:
        raise ValueError("sweep table: no sweep to plot")
    columns = min(2, len(names))
    rows = int(np.ceil(len(names) / columns))
    height = 1.9 + 2.7 * rows
    with plt.rc_context(style.RC):
        fig, axes = plt.subplots(rows, columns, figsize=(7.5, height), squeeze=False)
        fig.subplots_adjust(left=0.11, right=0.98, top=1 - 1.25 / height, bottom=0.8 / height,
                            wspace=0.3, hspace=0.62)  # fmt: skip
        strongest = []
        for ax in axes.flat[len(names) :]:
            ax.set_axis_off()
        for ax, name in zip(axes.flat, names, strict=False):
            sweep = sweeps[(sweeps["sweep"] == name) & (sweeps["geography_level"] == "state")]
            parameter = sweep["parameter"].iloc[0]
            for group in groups:
                colour, marker = style.GROUP_STYLES.get(group, (style.OKABE_ITO["black"], "o"))
                rows = sweep[sweep["metric"] == f"dissimilarity:{group}:{reference_group}"]
                rows = rows.sort_values("parameter_value")
                x = rows["parameter_value"].to_numpy(dtype=float)
                ax.fill_between(x, rows["delta_ci_low"], rows["delta_ci_high"], color=colour,
                                alpha=0.18, linewidth=0)  # fmt: skip
                ax.plot(x, rows["delta"], marker=marker, color=colour, markersize=3.5,
                        linewidth=1.2, label=f"{style.label(group)} vs white")  # fmt: skip
                if group == groups[0]:
                    strongest.append((float(rows["delta"].min()), name))
            ax.axhline(0, color="#555555", linewidth=0.8)
            scenario = sweep["scenario"].iloc[0].replace("_", " ")
            ax.set_title(f"{name.replace('_', ' ')}\n(scenario: {scenario})", fontsize=8.5)
            ax.set_xlabel(parameter.replace("_", " "))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
            ax.grid(color="#eeeeee", linewidth=0.6)
        for ax in axes[:, 0]:
            ax.set_ylabel("Change in D (0–1 scale)")
        axes.flat[0].legend(loc="lower left", frameon=True, framealpha=0.9)
        low, name = min(strongest)
        style.headline(
            fig,
            f"{state_name}: {style.label(groups[0])}–white D falls by up to {-low:.3f} "
            f"across the sweeps\n(largest in '{name.replace('_', ' ')}')",
            "Statewide change in dissimilarity as one scenario parameter varies; bands: 90% "
            "Monte Carlo intervals",
        )
        style.source_line(fig, f"Source: {style.acs_source(year)}; {source}. Scenarios: "
                                f"config/scenarios.yaml. Analysis: housing-segregation "
                                f"{analysis_version}.")  # fmt: skip
    return fig
