"""Figures of the first measurement set: a tract map and a dissimilarity chart."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import geopandas as gpd
import mapclassify
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from shapely.geometry import Point
from shapely.ops import polylabel

from . import style

#: Class breaks (upper bounds, percent) of the share maps: fixed, so years compare.
SHARE_BREAKS = (10, 25, 50, 75, 100)


def short_area_name(name: str) -> str:
    """ "Capitol Planning Region" -> "Capitol"; "Fairfield County" -> "Fairfield"."""
    return re.sub(r"\s+(Planning Region|County|Parish|Borough|Census Area)$", "", name)


def tract_count_label(count: int) -> str:
    return f"{count} tract" if count == 1 else f"{count} tracts"


def label_point(geometry) -> Point:
    """A point well inside a polygon's largest part, where its label reads best."""
    parts = getattr(geometry, "geoms", [geometry])
    largest = max(parts, key=lambda part: part.area)
    return polylabel(largest, tolerance=largest.length / 1000)


#: Towns labelled on the R/ECAP map, those with the most R/ECAP tracts (every Connecticut
#: town with one, 11 in 2023; a larger state's map would be crowded with all).
RECAP_TOWN_LABELS = 12

#: Offsets (points) tried in turn for a label beside a mark: above right first.
CORNER_OFFSETS = ((6, 6), (6, -6), (-6, 6), (-6, -6), (10, 0), (-10, 0))

#: Offsets (points) tried in turn for a label centred on a place: on it, then above, below.
CENTRED_OFFSETS = ((0, 0), (0, 9), (0, -9), (0, 18), (0, -18))


def annotate_clear(
    ax: plt.Axes, text: str, point: Point, offsets: Sequence[tuple[float, float]], **style
) -> None:
    """Annotate ``text`` at ``point`` at the first of ``offsets`` (points) where it overlaps
    no text already on the map (measured as drawn, with 3 pixels to spare for a label's
    box), or at the first if none is clear. The axes must have their final extent and
    aspect."""
    renderer = ax.figure.canvas.get_renderer()
    ax.apply_aspect()
    taken = [other.get_window_extent(renderer).padded(3) for other in ax.texts]
    tried = [*offsets, offsets[0]]  # the first again when none is clear
    for attempt, (dx, dy) in enumerate(tried, start=1):
        label = ax.annotate(
            text, (point.x, point.y), xytext=(dx, dy), textcoords="offset points",
            ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy > 0 else "top" if dy < 0 else "center", **style,
        )  # fmt: skip
        box = label.get_window_extent(renderer)
        if attempt == len(tried) or not any(box.overlaps(other) for other in taken):
            return
        label.remove()


def _area_kind(county_names: pd.Series) -> str:
    return "planning regions" if county_names.str.endswith("Planning Region").all() else "counties"


def share_class_layer(ax: plt.Axes, tracts: gpd.GeoDataFrame) -> list[Patch]:
    """Tracts shaded by their share of residents not non-Hispanic white, in the fixed classes
    of :data:`SHARE_BREAKS`; tracts without residents hatched. Returns the legend entries,
    each class with its tract count."""
    populated = tracts[tracts["total"] > 0]
    empty = tracts[~(tracts["total"] > 0)]
    shares = 100 * populated["nonwhite"] / populated["total"]
    classes = mapclassify.UserDefined(shares, bins=list(SHARE_BREAKS))
    colours = plt.get_cmap(style.SEQUENTIAL_CMAP)(np.linspace(0.12, 0.95, len(SHARE_BREAKS)))
    populated.assign(cls=classes.yb).plot(
        ax=ax,
        column="cls",
        cmap=ListedColormap(colours),
        vmin=0,
        vmax=len(colours) - 1,
        linewidth=0.1,
        edgecolor="white",
    )
    if not empty.empty:
        empty.plot(ax=ax, color="#d9d9d9", hatch="///", edgecolor="#999999", linewidth=0.1)
    lower = (0, *SHARE_BREAKS[:-1])
    handles = [
        Patch(facecolor=colours[i], edgecolor="#666666", linewidth=0.3,
              label=f"{lo}–{hi}%  ({tract_count_label(count)})")
        for i, (lo, hi, count) in enumerate(zip(lower, SHARE_BREAKS, classes.counts, strict=True))
    ]  # fmt: skip
    if not empty.empty:
        handles.append(
            Patch(facecolor="#d9d9d9", hatch="///", edgecolor="#999999",
                  label=f"no residents  ({tract_count_label(len(empty))})")
        )  # fmt: skip
    return handles


def largest_place_labels(
    ax: plt.Axes, places: gpd.GeoDataFrame, *, weight: str, name: str, count: int = 6
) -> None:
    """Label the ``count`` places with the most ``weight`` (residents, homes): the major
    cities a reader looks for first, each on its place or, where that would cover another
    label, just above or below (:func:`annotate_clear`)."""
    for _, place in places.nlargest(count, weight).iterrows():
        annotate_clear(ax, place[name], label_point(place.geometry), CENTRED_OFFSETS,
                       fontsize=6.5, color="#111111", fontstyle="italic",
                       path_effects=[withStroke(linewidth=2.2, foreground="white")])  # fmt: skip


def tract_towns(tracts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Towns (county subdivisions) as the union of their tracts, with their residents."""
    return tracts.dissolve(by="town_name", as_index=False, aggfunc={"total": "sum"})


def area_outline_layer(ax: plt.Axes, tracts: gpd.GeoDataFrame, *, fontsize: float = 7) -> Line2D:
    """Outlines of the tracts' counties or planning regions, labelled; returns the legend
    entry."""
    areas = tracts.dissolve(by=["county_geoid", "county_name"], as_index=False)
    areas.boundary.plot(ax=ax, color="#222222", linewidth=0.9)
    for _, area in areas.iterrows():
        point = label_point(area.geometry)
        ax.annotate(
            short_area_name(area["county_name"]),
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="#111111",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    return Line2D(
        [], [], color="#222222", linewidth=0.9, label=_area_kind(tracts["county_name"]).capitalize()
    )


def nonwhite_share_map(
    tracts: gpd.GeoDataFrame, *, boundary_file: str, analysis_version: str
) -> plt.Figure:
    """Choropleth of the share of residents who are not non-Hispanic white, by tract."""
    year = int(tracts["year"].iloc[0])
    state = tracts["state_name"].iloc[0]
    populated = tracts[tracts["total"] > 0]
    majority = populated["nonwhite"] >= populated["total"] / 2
    share_tracts = majority.mean()
    share_people = populated.loc[majority, "nonwhite"].sum() / populated["nonwhite"].sum()

    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, 6.0))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.95 / 6.0, bottom=0.45 / 6.0)
        handles = share_class_layer(ax, tracts)
        handles.append(area_outline_layer(ax, tracts))
        ax.set_axis_off()
        ax.set_aspect("equal")
        largest_place_labels(ax, tract_towns(tracts), weight="total", name="town_name")
        ax.legend(
            handles=handles,
            title="Residents not non-Hispanic white\n(% of tract population)",
            loc="lower right",
            frameon=True,
            framealpha=0.9,
        )
        style.headline(
            fig,
            f"{share_people:.0%} of {state}'s non-white residents live in the "
            f"{share_tracts:.0%} of tracts\nwhere most residents are not non-Hispanic white",
            f"Share of residents who are not non-Hispanic white, by census tract, {state}, "
            f"ACS {style.acs_period(year)} 5-year estimates",
        )
        style.source_line(
            fig,
            f"Source: U.S. Census Bureau, American Community Survey {style.acs_period(year)} "
            f"5-year estimates, table B03002; cartographic boundaries {boundary_file}. "
            f"Analysis: housing-segregation {analysis_version}.",
        )
    return fig


def dissimilarity_chart(
    indices: pd.DataFrame, *, groups: list[str], analysis_version: str
) -> plt.Figure:
    """Dot plot of pairwise dissimilarity from white_nh, by county and group.

    The title reports the range of the first of ``groups`` across counties.
    """
    pairs = indices[
        (indices["index"] == "dissimilarity")
        & indices["geography_level"].isin(["state", "county"])
        & (indices["reference_group"] == "white_nh")
    ]
    if pairs.empty:
        raise ValueError("indices: no dissimilarity values against white_nh to plot")
    year = int(pairs["year"].iloc[0])
    groups = [group for group in groups if group in set(pairs["group"])]
    counties = pairs[pairs["geography_level"] == "county"]
    if counties.empty:
        raise ValueError("indices: no county-level dissimilarity values to plot")
    # The title reports the first group measured in the counties.
    lead = next(group for group in groups if group in set(counties["group"]))
    state = pairs[pairs["geography_level"] == "state"]
    order = counties[counties["group"] == lead].sort_values("value")["geography_name"].tolist()
    names = [*order, *state["geography_name"].drop_duplicates()]
    rows = {name: i for i, name in enumerate(names)}

    with plt.rc_context(style.RC):
        height = 0.36 * len(names) + 2.7
        fig, ax = plt.subplots(figsize=(7.5, height))
        # Room above the axes for the headline (0.95 in) and the two-row legend.
        fig.subplots_adjust(left=0.27, right=0.97, top=1 - 1.45 / height, bottom=0.85 / height)
        for rank, group in enumerate(groups):
            colour, marker = style.GROUP_STYLES.get(group, ("#555555", "o"))
            values = pairs[pairs["group"] == group]
            # A small vertical dodge per group, so equal values do not hide each other.
            dodge = 0.16 * ((len(groups) - 1) / 2 - rank)
            positions = values["geography_name"].map(rows) + dodge
            if "ci_low" in values and values["ci_low"].notna().any():
                ax.errorbar(
                    values["value"], positions,
                    xerr=[values["value"] - values["ci_low"], values["ci_high"] - values["value"]],
                    fmt="none", ecolor=colour, elinewidth=1.0, alpha=0.75, zorder=2,
                )  # fmt: skip
            ax.scatter(
                values["value"],
                positions,
                color=colour,
                marker=marker,
                s=36,
                zorder=3,
                label=f"{style.label(group)} – {style.label('white_nh')}",
            )
        ax.axhline(len(order) - 0.5, color="#888888", linewidth=0.6)
        ax.set_yticks(range(len(names)), [short_area_name(n) for n in names])
        for tick in ax.get_yticklabels()[len(order) :]:
            tick.set_fontweight("bold")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6, zorder=0)
        ax.set_xlabel(
            "Dissimilarity index D (0 = same spread over tracts, 1 = complete separation)"
        )
        kind = _area_kind(counties["geography_name"])
        ax.set_ylabel(kind.capitalize() + " (and state)")
        ax.legend(
            title=None,
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            ncol=2,
            frameon=False,
            borderaxespad=0.3,
            columnspacing=1.2,
            handletextpad=0.3,
        )
        lead_values = counties[counties["group"] == lead].set_index("geography_name")["value"]
        style.headline(
            fig,
            f"{style.label(lead).capitalize()}–white dissimilarity ranges from "
            f"{lead_values.min():.2f} ({short_area_name(lead_values.idxmin())})\nto "
            f"{lead_values.max():.2f} ({short_area_name(lead_values.idxmax())}) across {kind}",
            f"Dissimilarity from non-Hispanic white residents over tracts, ACS "
            f"{style.acs_period(year)}; bars: 90% intervals from ACS margins of error",
        )
        style.source_line(
            fig,
            f"Source: U.S. Census Bureau, American Community Survey {style.acs_period(year)} "
            f"5-year estimates, table B03002. Analysis: housing-segregation {analysis_version}.",
        )
    return fig


def recap_map(recaps: gpd.GeoDataFrame, *, delineation: str, analysis_version: str) -> plt.Figure:
    """Map of HUD R/ECAP tracts, with county or region outlines and the towns that have them."""
    year = int(recaps["year"].iloc[0])
    state = recaps["state_name"].iloc[0]
    flagged = recaps[recaps["recap"]]
    populated = int((recaps["total"] > 0).sum())
    towns = flagged.groupby("town_name").size().sort_values(ascending=False)
    colour = style.OKABE_ITO["vermillion"]
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, 6.0))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.95 / 6.0, bottom=0.45 / 6.0)
        recaps.plot(ax=ax, color="#e8e8e8", edgecolor="white", linewidth=0.15)
        if not flagged.empty:
            flagged.plot(ax=ax, color=colour, edgecolor="white", linewidth=0.15)
        areas = recaps.dissolve(by=["county_geoid", "county_name"], as_index=False)
        areas.boundary.plot(ax=ax, color="#222222", linewidth=0.8)
        ax.set_axis_off()
        ax.set_aspect("equal")
        for town, count in towns.head(RECAP_TOWN_LABELS).items():
            point = label_point(flagged[flagged["town_name"] == town].union_all())
            annotate_clear(
                ax, f"{town} ({count})", point, CORNER_OFFSETS, fontsize=7, color="#111111",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )  # fmt: skip
        handles = [
            Patch(facecolor=colour, label=f"R/ECAP  ({tract_count_label(len(flagged))})"),
            Patch(facecolor="#e8e8e8", edgecolor="#999999", linewidth=0.3,
                  label=f"other tracts  ({tract_count_label(len(recaps) - len(flagged))})"),
            Line2D([], [], color="#222222", linewidth=0.8,
                   label=_area_kind(recaps["county_name"]).capitalize()),
        ]  # fmt: skip
        ax.legend(handles=handles, title="Census tracts (town: R/ECAP tracts)", loc="lower right",
                  frameon=True, framealpha=0.9)  # fmt: skip
        style.headline(
            fig,
            f"{len(flagged)} of {state}'s {populated} populated tracts are racially or "
            f"ethnically\nconcentrated areas of poverty (R/ECAPs)",
            "HUD rule: ≥ 50% not non-Hispanic white and poverty ≥ 40%, or ≥ 3× the CBSA's mean "
            f"tract rate if lower; ACS {style.acs_period(year)}",
        )
        style.source_line(
            fig,
            f"Source: U.S. Census Bureau, American Community Survey {style.acs_period(year)} "
            f"5-year estimates, tables B03002 and C17002; CBSA delineation {delineation}. "
            f"Analysis: housing-segregation {analysis_version}.{partial_cbsa_note(recaps, state)}",
        )
    return fig


def partial_cbsa_note(recaps: gpd.GeoDataFrame, state: str) -> str:
    """A sentence naming the CBSAs whose R/ECAP threshold came from the tracts at hand
    only (``cbsa_coverage`` partial: a state they span was missing), or nothing."""
    if "cbsa_coverage" not in recaps:
        return ""
    partial = sorted(set(recaps.loc[recaps["cbsa_coverage"] == "partial", "cbsa_name"]))
    if not partial:
        return ""
    return (
        f" The CBSA mean of {'; '.join(partial)} is over {state}'s tracts only: the tracts "
        "of its other states were not at hand."
    )


def _label_metres(label: str) -> float:
    """The radius in a spatial index name's suffix: "500m" -> 500, "2.5km" -> 2500 (the
    inverse of ``measure.distance_label``)."""
    return float(label[:-2]) * 1000 if label.endswith("km") else float(label[:-1])


def multiscalar_profile_chart(
    indices: pd.DataFrame, *, groups: list[str], analysis_version: str
) -> plt.Figure:
    """Spatial (egohood) dissimilarity of each group from white_nh by neighbourhood radius,
    for the state, with the aspatial tract value at radius 0 and 90% intervals as bands."""
    state = indices[
        (indices["geography_level"] == "state") & (indices["reference_group"] == "white_nh")
    ]
    spatial = state[state["index"].str.startswith("spatial_dissimilarity_")].copy()
    if spatial.empty:
        raise ValueError("indices: no spatial dissimilarity values to plot")
    spatial["metres"] = (
        spatial["index"].str.removeprefix("spatial_dissimilarity_").map(_label_metres)
    )
    tract_level = state[state["index"] == "dissimilarity"].assign(metres=0.0)
    profile = pd.concat([tract_level, spatial]).sort_values("metres")
    year = int(profile["year"].iloc[0])
    name = profile["geography_name"].iloc[0]
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        fig.subplots_adjust(left=0.1, right=0.97, top=1 - 1.15 / 4.8, bottom=0.95 / 4.8)
        for group in groups:
            rows = profile[profile["group"] == group]
            if rows.empty:
                continue
            colour, marker = style.GROUP_STYLES.get(group, ("#555555", "o"))
            kilometres = rows["metres"] / 1000
            ax.fill_between(kilometres, rows["ci_low"], rows["ci_high"], color=colour, alpha=0.15,
                            linewidth=0)  # fmt: skip
            ax.plot(kilometres, rows["value"], color=colour, marker=marker, markersize=5,
                    label=f"{style.label(group)} – {style.label('white_nh')}")  # fmt: skip
        ax.set_xlabel("Neighbourhood radius (km; 0 = census tracts, no smoothing)")
        ax.set_ylabel("Dissimilarity index D")
        ax.set_ylim(0, 1)
        ax.grid(color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper right", frameon=True, framealpha=0.9)
        lead = profile[profile["group"] == groups[0]]
        widest = lead["metres"].iloc[-1] / 1000
        style.headline(
            fig,
            f"{style.label(groups[0]).capitalize()}–white dissimilarity in {name}: "
            f"{lead['value'].iloc[0]:.2f} over tracts,\n{lead['value'].iloc[-1]:.2f} over "
            f"{widest:g} km neighbourhoods",
            f"Spatial (egohood) dissimilarity by radius, ACS {style.acs_period(year)}; bands: 90% "
            "intervals from ACS margins of error",
        )
        style.source_line(
            fig,
            f"Source: U.S. Census Bureau, American Community Survey {style.acs_period(year)} "
            f"5-year estimates, table B03002; cartographic boundaries. Method: Reardon & "
            f"O'Sullivan (2004) egohoods, triangular kernel. Analysis: housing-segregation "
            f"{analysis_version}.",
        )
    return fig


# --------------------------------------------------------------------------------------------
# Subsidized housing
# --------------------------------------------------------------------------------------------

#: Class breaks (upper bounds, percent assisted) of the 8-30g map; 10 is the statute's line.
APPEALS_BREAKS = (2.5, 5, 10, 20, 100)


def appeals_map(towns: gpd.GeoDataFrame, *, list_year: int, analysis_version: str) -> plt.Figure:
    """Town map of the 8-30g percent of assisted housing in one list year: towns below 10%
    (subject to the appeals procedure) in oranges, at or above it in blues."""
    percent = towns["percent_published"].astype(float)
    if percent.isna().any():
        raise ValueError(
            f"town table: no percent for {towns.loc[percent.isna(), 'town_name'].iloc[0]}"
        )
    # Classes include their lower edge: a town at exactly 10% is not subject to appeals.
    classes = np.digitize(percent, APPEALS_BREAKS[:-1])
    below = plt.get_cmap("Oranges")(np.linspace(0.65, 0.25, 3))
    above = plt.get_cmap("Blues")(np.linspace(0.45, 0.8, 2))
    colours = [*below, *above]
    labels = ["under 2.5%", "2.5–5%", "5–10%", "10–20%  (not subject to appeals)", "20% or more"]
    at_or_above = int((percent >= 10).sum())
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(7.5, 6.0))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.95 / 6.0, bottom=0.45 / 6.0)
        towns.plot(ax=ax, color=[colours[c] for c in classes], edgecolor="white",
                   linewidth=0.4)  # fmt: skip
        ax.set_axis_off()
        ax.set_aspect("equal")
        largest_place_labels(ax, towns, weight="housing_units", name="town_name")
        counts = np.bincount(classes, minlength=len(colours))
        handles = [
            Patch(facecolor=colour, label=f"{text}  ({count})")
            for colour, text, count in zip(colours, labels, counts, strict=True)
        ]
        ax.legend(handles=handles, title="Assisted units, % of housing (towns)",
                  loc="lower right", frameon=True, framealpha=0.9)  # fmt: skip
        style.headline(
            fig,
            f"{at_or_above} of {len(towns)} Connecticut towns reach the 10% of assisted "
            f"housing\nthat exempts them from the affordable housing appeals procedure",
            f"Assisted units as a share of the census count of housing units, Affordable "
            f"Housing Appeals List {list_year} (CGS § 8-30g)",
        )
        style.source_line(
            fig,
            f"Source: Connecticut Department of Housing, Affordable Housing Appeals List "
            f"{list_year}; town boundaries: U.S. Census Bureau cartographic boundary files. "
            f"Analysis: housing-segregation {analysis_version}.",
        )
    return fig


#: Siting conditions plotted, in order, with their labels.
SITING_CONDITIONS = {
    "share_in_recap": "in R/ECAPs",
    "share_in_poverty_40": "poverty ≥ 40%",
    "share_in_poverty_20": "poverty ≥ 20%",
    "share_in_majority_nonwhite": "majority non-white",
}


def siting_shares_chart(
    metrics: pd.DataFrame,
    *,
    programs: dict[str, str],
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """For the state: the share of each program's units in R/ECAPs, high-poverty and
    majority non-white tracts, beside the same share of all occupied homes."""
    state = metrics[metrics["geography_level"] == "state"]
    if state.empty:
        raise ValueError("siting metrics: no state rows to plot")
    year = int(state["year"].iloc[0])
    name = state["geography_name"].iloc[0]
    units = state[state["metric"] == "units"].set_index("program")["value"]
    shown = [program for program in programs if units.get(program, 0) > 0]
    rows = [*shown, "all_housing"]
    labels = {**programs, "all_housing": "all occupied homes"}
    with plt.rc_context(style.RC):
        height = 2.1 + 0.42 * len(rows)
        fig, axes = plt.subplots(1, len(SITING_CONDITIONS), figsize=(7.5, height), sharey=True)
        # Room for the longest program name (about 0.0088 of the width per character).
        left = max(0.27, 0.0088 * max(len(labels[p]) for p in rows) + 0.01)
        fig.subplots_adjust(left=left, right=0.98, top=1 - 1.2 / height, bottom=0.75 / height,
                            wspace=0.12)  # fmt: skip
        positions = np.arange(len(rows))[::-1]
        for ax, (metric, title) in zip(axes, SITING_CONDITIONS.items(), strict=True):
            values = [
                float(state[(state["program"] == p) & (state["metric"] == metric)]["value"].iloc[0])
                for p in rows
            ]
            colours = [style.OKABE_ITO["blue"]] * len(shown) + ["#999999"]
            ax.barh(positions, [100 * v for v in values], color=colours, height=0.7)
            reference = 100 * values[-1]
            ax.axvline(reference, color="#555555", linewidth=0.8, linestyle="--")
            for y, value in zip(positions, values, strict=True):
                # Near 100% the label goes inside its bar, where the axes have room for it.
                inside = value > 0.8
                ax.text(100 * value + (-1 if inside else 1), y, f"{100 * value:.0f}%",
                        va="center", ha="right" if inside else "left", fontsize=7,
                        color="white" if inside else "black")  # fmt: skip
            ax.set_title(title, fontsize=9)
            ax.set_xlim(0, 105)
            ax.set_xlabel("% of units")
            ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        axes[0].set_yticks(positions, [labels[p] for p in rows])
        recap = state[
            (state["program"] == "assisted_units_total") & (state["metric"] == "share_in_recap")
        ]
        homes = state[(state["program"] == "all_housing") & (state["metric"] == "share_in_recap")]
        lead = (
            f"{100 * recap['value'].iloc[0]:.0f}% of assisted units are in R/ECAPs, "
            f"home to {100 * homes['value'].iloc[0]:.0f}% of all households"
            if len(recap) and len(homes)
            else "Where subsidized units are, against all housing"
        )
        withheld = state[(state["metric"] == "tracts_suppressed") & state["program"].isin(shown)]
        style.headline(
            fig,
            f"{name}: {lead}",
            f"Share of each program's units by tract condition; dashed line: all occupied "
            f"homes; tracts: ACS {style.acs_period(year)}"
            + ("\nHUD rows: over the tracts whose counts HUD publishes" if len(withheld) else ""),
        )
        style.source_line(fig, f"Source: {source}; U.S. Census Bureau, American Community "
                                f"Survey {style.acs_period(year)} 5-year estimates. Analysis: "
                                f"housing-segregation {analysis_version}.")  # fmt: skip
    return fig


def rate_ratio_chart(
    model: pd.DataFrame,
    *,
    terms: dict[str, str],
    programs: dict[str, str],
    source: str,
    analysis_version: str,
) -> plt.Figure:
    """Incidence-rate ratios of the siting model's ``terms`` (one panel each), by program,
    with 95% intervals on a log axis (1 = no association)."""
    shown = model[model["term"].isin(terms) & model["program"].isin(programs)]
    if shown.empty:
        raise ValueError("siting model: none of the terms to plot")
    fitted = [program for program in programs if program in set(shown["program"])]
    positions = dict(zip(fitted, np.arange(len(fitted))[::-1], strict=True))
    low = min(shown["irr_ci_low"].min(), 0.8)
    high = max(shown["irr_ci_high"].max(), 1.25)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4) if low * 0.9 <= t <= high * 1.1]
    with plt.rc_context(style.RC):
        height = 2.2 + 0.38 * len(fitted)
        fig, axes = plt.subplots(1, len(terms), figsize=(7.5, height), sharey=True)
        axes = np.atleast_1d(axes)
        fig.subplots_adjust(left=0.29, right=0.98, top=1 - 1.25 / height, bottom=0.8 / height,
                            wspace=0.08)  # fmt: skip
        for ax, (term, term_label) in zip(axes, terms.items(), strict=True):
            rows = shown[shown["term"] == term]
            for row in rows.itertuples():
                total = row.program == fitted[0]
                colour = style.OKABE_ITO["black"] if total else style.OKABE_ITO["blue"]
                ax.errorbar(row.irr, positions[row.program],
                            xerr=[[row.irr - row.irr_ci_low], [row.irr_ci_high - row.irr]],
                            fmt="o", color=colour, capsize=2.5, markersize=4.5)  # fmt: skip
                ax.text(row.irr, positions[row.program] + 0.22, f"{row.irr:.2f}",
                        ha="center", va="bottom", fontsize=7)  # fmt: skip
            ax.axvline(1.0, color="#555555", linewidth=0.8, linestyle="--")
            ax.set_xscale("log")
            ax.set_xlim(low * 0.9, high * 1.1)
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
            ax.set_title(term_label, fontsize=9)
            ax.set_xlabel("rate ratio (log scale)")
            ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        axes[0].set_yticks(list(positions.values()), [programs[p] for p in positions])
        axes[0].set_ylim(-0.6, len(fitted) - 0.3)
        lead_term = next(iter(terms))
        lead = shown[(shown["term"] == lead_term) & (shown["program"] == fitted[0])].iloc[0]
        interval = f"{lead['irr']:.2f} [{lead['irr_ci_low']:.2f}, {lead['irr_ci_high']:.2f}]"
        if lead["irr_ci_low"] <= 1 <= lead["irr_ci_high"]:
            finding = f"no clear association with {terms[lead_term]}"
        else:
            finding = (
                f"{'more' if lead['irr'] > 1 else 'fewer'} units per home with {terms[lead_term]}"
            )
        family = str(lead["family"]).replace("_", " ")
        errors = "town-clustered" if lead["cov_type"] == "cluster" else f"{lead['cov_type']}-robust"
        style.headline(
            fig,
            f"{programs[fitted[0]].capitalize()}: {finding},\nrate ratio {interval}, other "
            "tract traits held equal",
            f"Siting model: {family} count, occupied housing units as exposure; 95% intervals,\n"
            f"{errors}. 1 = no association. An association, not proof of intent.",
        )
        style.source_line(
            fig,
            f"Source: {source}; U.S. Census Bureau, American Community Survey. Analysis: "
            f"housing-segregation {analysis_version}.",
        )
    return fig


def timeseries_chart(
    series: pd.DataFrame, *, state: str, group: str, reference_group: str, analysis_version: str
) -> plt.Figure:
    """Small multiples of ``group``'s dissimilarity from ``reference_group`` over the years,
    for ``state`` and each of its regions (or counties) of the latest year's geography: filled
    dots on that one geography (older years harmonised onto it), with their intervals; hollow
    dots the older years on their own tracts, for comparison."""
    rows = series[(series["index"] == "dissimilarity") & (series["group"] == group)
                  & (series["reference_group"] == reference_group)
                  & series["geography_level"].isin(["state", "planning_region", "county"])
                  & series["geography_id"].str.startswith(state)]  # fmt: skip
    latest = int(rows["tract_geography"].max())
    common = rows[rows["tract_geography"] == latest]
    native_older = rows[(rows["tract_geography"] < latest) & ~rows["harmonised"]]
    level = next(
        (lvl for lvl in ("planning_region", "county") if lvl in set(common["geography_level"])),
        None,
    )
    if level is None or common["year"].nunique() < 2:
        raise ValueError("time series: needs two years and a region or county level")
    areas = [
        *common.loc[common["geography_level"] == "state", "geography_id"].unique(),
        *common[(common["geography_level"] == level) & (common["year"] == common["year"].max())]
        .sort_values("value", ascending=False)["geography_id"],
    ]  # fmt: skip
    names = common.drop_duplicates("geography_id").set_index("geography_id")["geography_name"]
    years = sorted(common["year"].unique())
    span = max(years[-1] - years[0], 1)
    columns = 5
    grid_rows = -(-len(areas) // columns)
    colour, marker = style.GROUP_STYLES.get(group, (style.OKABE_ITO["black"], "o"))
    with plt.rc_context(style.RC):
        height = 2.0 * grid_rows + 1.8
        fig, axes = plt.subplots(grid_rows, columns, figsize=(7.5, height), sharex=True,
                                 sharey=True, squeeze=False)  # fmt: skip
        fig.subplots_adjust(left=0.09, right=0.99, top=1 - 1.25 / height, bottom=0.9 / height,
                            hspace=0.45, wspace=0.12)  # fmt: skip
        for ax in axes.flat[len(areas) :]:
            ax.set_visible(False)
        for ax, area in zip(axes.flat, areas, strict=False):
            points = common[common["geography_id"] == area].sort_values("year")
            ax.errorbar(points["year"], points["value"],
                        yerr=[points["value"] - points["ci_low"],
                              points["ci_high"] - points["value"]],
                        fmt=f"{marker}-", color=colour, markersize=4, capsize=2,
                        linewidth=1)  # fmt: skip
            own = native_older[native_older["geography_id"] == area]
            ax.scatter(own["year"] + 0.35, own["value"], facecolors="none", edgecolors=colour,
                       marker=marker, s=18, linewidths=0.8)  # fmt: skip
            ax.set_title(textwrap.fill(short_area_name(names[area]), 18), fontsize=7.5)
            ax.set_xticks(years, [str(y) for y in years])
            ax.set_xlim(years[0] - 0.25 * span, years[-1] + 0.25 * span)
            ax.grid(axis="y", color="#eeeeee", linewidth=0.6)
        for ax in axes[:, 0]:
            ax.set_ylabel("D (0–1)")
        state = common[common["geography_level"] == "state"].set_index("year")["value"]
        change = state[years[-1]] - state[years[0]]
        style.headline(
            fig,
            f"{style.label(group).capitalize()}–white dissimilarity in {names[areas[0]]}: "
            f"{state[years[0]]:.3f} in {years[0]}, {state[years[-1]]:.3f} in {years[-1]} "
            f"({change:+.3f})".replace("-", "−").replace("−white", "-white"),
            textwrap.fill(
                f"ACS 5-year end years, all on {latest} tracts (older years' counts carried by "
                f"area shares); bars: 90% intervals from the ACS margins of error; hollow dots: "
                f"the older years on their own tracts",
                110,
            ),
        )
        style.source_line(
            fig,
            f"Source: U.S. Census Bureau, American Community Survey 5-year estimates, table "
            f"B03002; cartographic tract boundaries of each year. Analysis: housing-segregation "
            f"{analysis_version}.",
        )
    return fig
