"""CBSAs that cross state lines: listed from the states' delineations, measured once from all
their states' tracts, and marked partial where a state is missing.

Every tract table here is SYNTHETIC (seeded counts on a grid of 1 km squares), shaped like the
normalisation stage's tables: two states, "09" and "25", share CBSA 99990.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from housing_segregation.cross_state import (
    CROSS_STATE_COLUMNS,
    cbsa_indices,
    cbsa_spans,
    cbsa_tracts,
    coverage,
    cross_state_cbsas,
    read_cross_state_cbsas,
    title_states,
    write_cross_state_cbsas,
)
from housing_segregation.measure import INDEX_COLUMNS, compute_indices, with_coverage
from housing_segregation.uncertainty import COMPOSITES, POVERTY_PARTS, RACE_PARTS

GROUPS = ["black_nh", "hispanic"]
SHARED = "99990"  # SYNTHETIC CBSA "Synthetic City, CT-MA"
MEASUREMENT = {"groups": GROUPS, "reference_group": "white_nh", "draws": 20, "seed": [1, 2023]}


def synthetic_state(state: str, *, tracts: int, offset_km: float, seed: int) -> gpd.GeoDataFrame:
    """SYNTHETIC tract table of one state: the first two thirds of its tracts in the shared
    CBSA, the rest in a CBSA of the state's own."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "year": 2023,
            "geoid": [f"{state}001{i:06d}" for i in range(tracts)],
            "state_fips": state,
            "state_name": f"Synthetic {state}",
            "county_geoid": f"{state}001",
            "county_name": "Synthetic County",
            "town_geoid": [f"{state}001{i // 4:05d}" for i in range(tracts)],
            "town_name": [f"Town {i // 4}" for i in range(tracts)],
        }
    )
    for part in (*RACE_PARTS, *POVERTY_PARTS):
        table[part] = rng.integers(20, 800, tracts).astype(float)
        table[f"{part}_moe"] = np.ceil(table[part] * 0.2)
    for name, parts in COMPOSITES.items():
        table[name] = table[list(parts)].sum(axis=1)
    shared = np.arange(tracts) < tracts * 2 // 3
    table["cbsa_geoid"] = np.where(shared, SHARED, f"9{state}00")
    table["cbsa_name"] = np.where(shared, "Synthetic City, CT-MA", f"Synthetic {state} Town")
    table["cbsa_complete"] = ~shared  # as the normalisation stage marks them: own state only
    corners = [((i % 5 + offset_km) * 1000, (i // 5) * 1000) for i in range(tracts)]
    squares = [box(x, y, x + 1000, y + 1000) for x, y in corners]
    return gpd.GeoDataFrame(table, geometry=squares, crs="EPSG:5070")


@pytest.fixture(scope="module")
def states():
    return {
        "09": synthetic_state("09", tracts=15, offset_km=0, seed=9),
        "25": synthetic_state("25", tracts=12, offset_km=5, seed=25),
    }


def measured(tables, used, **options):
    return cbsa_indices(
        tables, cbsa_geoid=SHARED, spanned=["09", "25"], used=used, **MEASUREMENT, **options
    )


def test_complete_when_every_state_is_at_hand(states):
    table = measured([states["09"], states["25"]], used=["09", "25"], radii=[1000])
    assert list(table.columns) == INDEX_COLUMNS
    assert set(table["geography_level"]) == {"cbsa"}
    assert set(table["geography_id"]) == {SHARED}
    assert set(table["coverage"]) == {"complete"}
    # Two thirds of each state's tracts: 10 + 8.
    assert set(table["n_units"]) == {18}
    assert {"dissimilarity", "spatial_dissimilarity_1km", "mutual_information"} <= set(
        table["index"]
    )


def test_partial_when_a_state_is_missing(states):
    table = measured([states["09"]], used=["09"])
    assert set(table["coverage"]) == {"partial"}
    assert set(table["n_units"]) == {10}  # Connecticut's part alone


def test_the_values_are_those_of_the_pooled_tracts(states):
    """The CBSA measured across states equals the measurement of its tracts as one table."""
    both = measured([states["09"], states["25"]], used=["09", "25"], spatial=False)
    pooled = pd.concat([states["09"], states["25"]], ignore_index=True)
    pooled = pd.DataFrame(pooled[pooled["cbsa_geoid"] == SHARED].drop(columns="geometry"))
    direct = compute_indices(pooled.assign(cbsa_complete=True), **MEASUREMENT)
    direct = direct[direct["geography_level"] == "cbsa"].reset_index(drop=True)
    columns = ["index", "group", "reference_group", "value", "se", "n_units", "population"]
    pd.testing.assert_frame_equal(both[columns], direct[columns])


def test_each_state_table_leaves_the_shared_cbsa_out(states):
    own = compute_indices(states["09"], **MEASUREMENT)
    assert SHARED not in set(own["geography_id"])
    assert "909" + "00" in set(own["geography_id"])  # its own CBSA is measured


def test_gathering_keeps_towns_and_empties_the_other_levels(states):
    gathered = cbsa_tracts([states["09"], states["25"]], SHARED)
    assert len(gathered) == 18
    assert gathered["state_fips"].isna().all() and gathered["county_geoid"].isna().all()
    assert gathered["town_geoid"].notna().all()
    with pytest.raises(ValueError, match="different CRS"):
        cbsa_tracts([states["09"], states["25"].to_crs("EPSG:3338")], SHARED)


def test_coverage_values():
    assert coverage(["09", "25"], ["25", "09"]) == "complete"
    assert coverage(["09", "25"], ["09"]) == "partial"
    with pytest.raises(ValueError, match="coverage"):
        with_coverage(pd.DataFrame(columns=INDEX_COLUMNS), "most")


# SYNTHETIC delineation rows in the layout of ../shared/data/delineations (Census list1).
HEADER = (
    "CBSA Code,CBSA Title,Metropolitan/Micropolitan Statistical Area,County/County Equivalent,"
    "State Name,FIPS State Code,FIPS County Code\n"
)
CONNECTICUT = HEADER + (
    '99990,"Synthetic City, CT-MA",Metropolitan Statistical Area,A County,Connecticut,09,001\n'
    '90900,"Synthetic Town, CT",Micropolitan Statistical Area,B County,Connecticut,09,003\n'
)
MASSACHUSETTS = HEADER + (
    '99990,"Synthetic City, CT-MA",Metropolitan Statistical Area,C County,Massachusetts,25,001\n'
)


def test_cross_state_cbsas_are_listed_with_every_state_they_span(tmp_path):
    (tmp_path / "ct.csv").write_text(CONNECTICUT)
    (tmp_path / "ma.csv").write_text(MASSACHUSETTS)
    # A Connecticut-only run reads Connecticut's rows alone; the title names Massachusetts.
    listing = cross_state_cbsas([(2020, tmp_path / "ct.csv")])
    assert listing.to_dict("records") == [
        {"delineation": 2020, "cbsa_geoid": "99990", "cbsa_name": "Synthetic City, CT-MA",
         "states": "09 25"}
    ]  # fmt: skip
    both = cross_state_cbsas([(2020, tmp_path / "ct.csv"), (2020, tmp_path / "ma.csv")])
    pd.testing.assert_frame_equal(both, listing)
    write_cross_state_cbsas(both, tmp_path / "listing.csv")
    again = read_cross_state_cbsas(tmp_path / "listing.csv")
    assert list(again.columns) == CROSS_STATE_COLUMNS
    assert cbsa_spans(again, 2020) == {"99990": ["09", "25"]}
    assert cbsa_spans(again, 2023) == {}


def test_title_states():
    assert title_states("Worcester, MA-CT") == ["09", "25"]
    assert title_states("New York-Newark-Jersey City, NY-NJ-PA") == ["34", "36", "42"]
    with pytest.raises(ValueError, match="'Nowhere, XX'"):
        title_states("Nowhere, XX")
