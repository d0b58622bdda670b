"""Tests for housing_segregation.download against a scripted HTTP server on 127.0.0.1.

No test reaches the network: every request goes to a local ``http.server`` that plays back
scripted replies (status, headers, body, optional delay or truncation) per path.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import socket
import traceback
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3
from scripted_server import Query, Reply, ScriptedServer, running_server

from housing_segregation import download
from housing_segregation.download import (
    DownloadError,
    DownloadRecord,
    acs_query_params,
    cartographic_boundary_url,
    census_api_url,
    county_list_params,
    fetch,
    fetch_acs_table,
    sha256_file,
    validate_census_api_json,
    validate_csv,
    validate_zip,
    write_record,
)
from housing_segregation.units import BLOCK_GROUP, TRACT, UNIT_LEVELS, UnitLevel

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ACS_2023_CT = SHARED_DATA / "census-api" / "acs5_2023_tract_state09.json"
SENTINEL_KEY = "sEcReT-kEy/0123+456789"
GEO_COLUMNS = ["state", "county", "tract"]
TABLE_JSON = b'[["NAME","B01003_001E","state"],["Connecticut","3598348","09"]]'


def no_sleep(seconds: float) -> None:
    """Stand-in for time.sleep so retries cost no wall time."""


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with running_server() as scripted:
        yield scripted


@pytest.fixture(scope="module")
def acs_table() -> list[list[str]]:
    """Header and the first rows of the real 2023 Connecticut tract table."""
    if not ACS_2023_CT.exists():
        pytest.skip(f"shared real data not available at {ACS_2023_CT}")
    table = json.loads(ACS_2023_CT.read_text(encoding="utf-8"))
    return table[:8]


def acs_responder(table: list[list[str]], state: str = "09") -> Callable[[Query], Reply]:
    """Answer like the Census API: the columns asked for in ``get``, then geography columns."""
    header = table[0]

    def respond(query: Query) -> Reply:
        names = query["get"][0].split(",")
        if len(names) > download.CENSUS_API_MAX_GET:
            return Reply(400, b"error: a maximum of 50 variables may be requested")
        if query["for"] != ["tract:*"] or query["in"] != [f"state:{state}"]:
            return Reply(400, b"error: unknown/unsupported geography hierarchy")
        unknown = [name for name in names if name not in header]
        if unknown:
            return Reply(400, f"error: unknown variable '{unknown[0]}'".encode())
        columns = [header.index(name) for name in [*names, *GEO_COLUMNS]]
        rows = [[row[i] for i in columns] for row in table]
        return Reply(200, json.dumps(rows).encode())

    return respond


def listing(directory: Path) -> list[str]:
    """All entries under ``directory`` (hidden temp files included)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def error_text(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """Everything a user could see of an exception: message, chain and traceback."""
    return "".join(traceback.format_exception(excinfo.value))


# --------------------------------------------------------------------------------------------
# URLs and query parameters
# --------------------------------------------------------------------------------------------


def test_census_api_url() -> None:
    assert census_api_url(2023) == "https://api.census.gov/data/2023/acs/acs5"
    assert census_api_url(2019, base_url="http://127.0.0.1:1/data/") == (
        "http://127.0.0.1:1/data/2019/acs/acs5"
    )


def test_acs_query_params_keep_order_and_put_name_first() -> None:
    params = acs_query_params(["B03002_003E", "B03002_001E", "B03002_001M"], "09")
    assert params == {
        "get": "NAME,B03002_003E,B03002_001E,B03002_001M",
        "for": "tract:*",
        "in": "state:09",
    }


@pytest.mark.parametrize(
    ("variables", "state", "message"),
    [
        ([f"B01001_{i:03d}E" for i in range(1, 51)], "09", "limit of 50"),
        (["B01003_001E"], "9", "two digits"),
        ([], "09", "no variables"),
        (["NAME", "B01003_001E"], "09", "NAME"),
        (["B01003_001E", "B01003_001E"], "09", "duplicate"),
    ],
)
def test_acs_query_params_rejects(variables: list[str], state: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        acs_query_params(variables, state)


def test_acs_query_params_accepts_49_variables() -> None:
    params = acs_query_params([f"B01001_{i:03d}E" for i in range(1, 50)], "09")
    assert len(params["get"].split(",")) == download.CENSUS_API_MAX_GET


def test_block_group_query_names_the_county() -> None:
    # One `in` value, the parent geographies separated by a space, as the API documents.
    assert acs_query_params(["B01003_001E"], "09", BLOCK_GROUP, "110") == {
        "get": "NAME,B01003_001E",
        "for": "block group:*",
        "in": "state:09 county:110",
    }
    assert acs_query_params(["B01003_001E"], "09", TRACT) == acs_query_params(["B01003_001E"], "09")
    assert county_list_params("09") == {"get": "NAME", "for": "county:*", "in": "state:09"}


@pytest.mark.parametrize(
    ("unit", "county", "message"),
    [
        (BLOCK_GROUP, None, "county by county; pass county_fips"),
        (BLOCK_GROUP, "11", "three digits, got '11'"),
        (BLOCK_GROUP, "0110", "three digits"),
        (BLOCK_GROUP, "11a", "three digits"),
        (BLOCK_GROUP, 110, "three digits"),
        (TRACT, "110", "whole state"),
    ],
)
def test_acs_query_params_rejects_county(unit: Any, county: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        acs_query_params(["B01003_001E"], "09", unit, county)


def test_county_list_params_rejects_bad_state() -> None:
    with pytest.raises(ValueError, match="two digits"):
        county_list_params("9")


@pytest.mark.parametrize("year", [2019, 2020, 2023])
@pytest.mark.parametrize("layer", ["tract", "bg", "cousub"])
def test_cartographic_boundary_url(year: int, layer: str) -> None:
    assert cartographic_boundary_url(year, "09", layer) == (
        f"https://www2.census.gov/geo/tiger/GENZ{year}/shp/cb_{year}_09_{layer}_500k.zip"
    )


def test_boundary_layers_cover_every_unit_level() -> None:
    assert {level.boundary_layer for level in UNIT_LEVELS.values()} <= download.BOUNDARY_LAYERS


@pytest.mark.parametrize(
    ("year", "state", "layer"),
    [(2023, "09", "county"), (2013, "09", "tract"), (2023, "CT", "tract")],
)
def test_cartographic_boundary_url_rejects(year: int, state: str, layer: str) -> None:
    with pytest.raises(ValueError):
        cartographic_boundary_url(year, state, layer)


# --------------------------------------------------------------------------------------------
# fetch: retries and failures
# --------------------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script(
        "/t.json",
        Reply(429, b"slow down", {"Retry-After": "7"}),
        Reply(200, TABLE_JSON, {"ETag": '"abc"', "Last-Modified": "Tue, 01 Oct 2024 00:00:00 GMT"}),
    )
    sleeps: list[float] = []
    destination = tmp_path / "out" / "t.json"

    record = fetch(
        url,
        destination,
        validate=validate_census_api_json,
        backoff_seconds=0.01,
        sleep=sleeps.append,
    )

    assert sleeps == [7.0]
    assert record.attempts == 2
    assert destination.read_bytes() == TABLE_JSON
    assert record.bytes == len(TABLE_JSON)
    assert record.sha256 == hashlib.sha256(TABLE_JSON).hexdigest() == sha256_file(destination)
    assert record.http_status == 200
    assert record.etag == '"abc"'
    assert record.last_modified == "Tue, 01 Oct 2024 00:00:00 GMT"
    assert record.url == url
    assert record.urls == (url,)
    assert record.destination == str(destination)
    retrieved = datetime.fromisoformat(record.retrieved_at)
    assert retrieved.tzinfo == UTC
    assert retrieved.microsecond == 0
    assert listing(tmp_path) == ["out", "out/t.json"]


def test_retry_after_is_capped(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script(
        "/t.json", Reply(503, headers={"Retry-After": "86400"}), Reply(200, TABLE_JSON)
    )
    sleeps: list[float] = []
    fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=sleeps.append)
    assert sleeps == [download.MAX_WAIT_SECONDS]


def test_repeated_500_gives_up_after_max_attempts(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/t.json", Reply(500, b"Internal Server Error"))
    sleeps: list[float] = []
    with pytest.raises(DownloadError) as excinfo:
        fetch(
            url,
            tmp_path / "t.json",
            validate=validate_census_api_json,
            max_attempts=4,
            backoff_seconds=0.5,
            sleep=sleeps.append,
        )
    message = str(excinfo.value)
    assert url in message
    assert "4 attempts" in message
    assert "HTTP 500" in message
    assert server.count("/t.json") == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert listing(tmp_path) == []


def test_truncated_body_is_retried(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script(
        "/t.json", Reply(200, TABLE_JSON[:20], truncate=True), Reply(200, TABLE_JSON)
    )
    record = fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=no_sleep)
    assert record.attempts == 2
    assert (tmp_path / "t.json").read_bytes() == TABLE_JSON
    assert listing(tmp_path) == ["t.json"]


class LenientSession(requests.Session):
    """Answers every GET with the next body under a fixed Content-Length, like a transport
    that does not enforce Content-Length itself (urllib3 1.x): short bodies arrive silently."""

    def __init__(self, content_length: int, *bodies: bytes) -> None:
        super().__init__()
        self.content_length = content_length
        self.bodies = deque(bodies)

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response.url = str(url)
        response.headers["Content-Length"] = str(self.content_length)
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.bodies.popleft()),
            preload_content=False,
            enforce_content_length=False,
        )
        return response


def test_short_body_is_detected_by_content_length(tmp_path: Path) -> None:
    session = LenientSession(len(TABLE_JSON), TABLE_JSON[:30], TABLE_JSON)
    sleeps: list[float] = []
    record = fetch(
        "http://127.0.0.1:9/t.json",
        tmp_path / "t.json",
        validate=validate_census_api_json,
        session=session,
        sleep=sleeps.append,
    )
    assert record.attempts == 2
    assert sleeps == [1.0]
    assert (tmp_path / "t.json").read_bytes() == TABLE_JSON

    session = LenientSession(len(TABLE_JSON), *[TABLE_JSON[:30]] * 2)
    with pytest.raises(DownloadError, match="truncated body: 30 of"):
        fetch(
            "http://127.0.0.1:9/t.json",
            tmp_path / "u.json",
            validate=validate_census_api_json,
            max_attempts=2,
            session=session,
            sleep=no_sleep,
        )
    assert listing(tmp_path) == ["t.json"]


def test_always_truncated_body_fails_without_file(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/b.zip", Reply(200, b"PK\x03\x04 partial", truncate=True))
    with pytest.raises(DownloadError, match="3 attempts") as excinfo:
        fetch(url, tmp_path / "b.zip", validate=validate_zip, max_attempts=3, sleep=no_sleep)
    assert "ChunkedEncodingError" in str(excinfo.value) or "truncated" in str(excinfo.value)
    assert server.count("/b.zip") == 3
    assert listing(tmp_path) == []


def test_api_error_body_with_200_is_not_retried(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/t.json", Reply(200, b"error: unknown variable 'B03002_099E'"))
    with pytest.raises(DownloadError) as excinfo:
        fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=no_sleep)
    assert "Census API error body: error: unknown variable 'B03002_099E'" in str(excinfo.value)
    assert url in str(excinfo.value)
    assert server.count("/t.json") == 1
    assert listing(tmp_path) == []


def test_invalid_key_html_page_with_200(server: ScriptedServer, tmp_path: Path) -> None:
    page = b"<html><head><title>Invalid Key</title></head><body><p>Invalid Key</p></body></html>"
    url = server.script("/t.json", Reply(200, page, {"Content-Type": "text/html"}))
    with pytest.raises(DownloadError, match="Invalid Key") as excinfo:
        fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=no_sleep)
    assert "CENSUS_API_KEY" in str(excinfo.value)
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b"<html><body><h1>404 Not Found</h1></body></html>"),
        (400, b"error: unknown/unsupported geography hierarchy"),
    ],
)
def test_client_errors_fail_at_once(
    server: ScriptedServer, tmp_path: Path, status: int, body: bytes
) -> None:
    url = server.script("/t.json", Reply(status, body))
    with pytest.raises(DownloadError) as excinfo:
        fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=no_sleep)
    message = str(excinfo.value)
    assert f"HTTP {status}" in message
    assert body.decode() in message
    assert server.count("/t.json") == 1
    assert listing(tmp_path) == []


def test_error_body_excerpt_is_short(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/t.json", Reply(400, b"error: " + b"x" * 5000))
    with pytest.raises(DownloadError) as excinfo:
        fetch(url, tmp_path / "t.json", validate=validate_census_api_json)
    assert "x" * 293 in str(excinfo.value)
    assert "x" * 294 not in str(excinfo.value)


def test_timeout_is_retried_then_fails(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/slow.json", Reply(200, TABLE_JSON, delay=0.6))
    with pytest.raises(DownloadError, match="2 attempts") as excinfo:
        fetch(
            url,
            tmp_path / "slow.json",
            validate=validate_census_api_json,
            max_attempts=2,
            timeout_seconds=0.2,
            sleep=no_sleep,
        )
    assert "Timeout" in str(excinfo.value)
    assert server.count("/slow.json") == 2
    assert listing(tmp_path) == []


def test_timeout_then_success(server: ScriptedServer, tmp_path: Path) -> None:
    url = server.script("/slow.json", Reply(200, TABLE_JSON, delay=0.6), Reply(200, TABLE_JSON))
    record = fetch(
        url,
        tmp_path / "s.json",
        validate=validate_census_api_json,
        timeout_seconds=0.2,
        sleep=no_sleep,
    )
    assert record.attempts == 2


def test_connection_refused_is_retried_then_fails(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match="3 attempts") as excinfo:
        fetch(
            f"http://127.0.0.1:{port}/t.json",
            tmp_path / "t.json",
            validate=validate_census_api_json,
            max_attempts=3,
            sleep=no_sleep,
        )
    assert "ConnectionError" in str(excinfo.value)
    assert listing(tmp_path) == []


def test_existing_file_is_replaced_only_on_success(server: ScriptedServer, tmp_path: Path) -> None:
    destination = tmp_path / "t.json"
    destination.write_bytes(b"old contents")
    url = server.script("/t.json", Reply(503), Reply(503), Reply(200, TABLE_JSON))

    with pytest.raises(DownloadError):
        fetch(url, destination, validate=validate_census_api_json, max_attempts=2, sleep=no_sleep)
    assert destination.read_bytes() == b"old contents"
    assert listing(tmp_path) == ["t.json"]

    fetch(url, destination, validate=validate_census_api_json, sleep=no_sleep)
    assert destination.read_bytes() == TABLE_JSON
    assert listing(tmp_path) == ["t.json"]


def test_invalid_body_keeps_existing_file(server: ScriptedServer, tmp_path: Path) -> None:
    destination = tmp_path / "b.zip"
    destination.write_bytes(b"old zip")
    url = server.script("/b.zip", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(DownloadError, match="not a valid zip"):
        fetch(url, destination, validate=validate_zip, sleep=no_sleep)
    assert destination.read_bytes() == b"old zip"
    assert listing(tmp_path) == ["b.zip"]


def test_log_reports_attempts_retries_and_checksum(
    server: ScriptedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.script("/t.json", Reply(502), Reply(200, TABLE_JSON))
    caplog.set_level(logging.INFO, logger="housing_segregation.download")
    record = fetch(url, tmp_path / "t.json", validate=validate_census_api_json, sleep=no_sleep)
    messages = [r.getMessage() for r in caplog.records if r.name == "housing_segregation.download"]
    assert f"GET {url} (attempt 1 of 5)" in messages
    assert f"GET {url} (attempt 2 of 5)" in messages
    assert any("HTTP 502; retrying" in m for m in messages)
    assert any(record.sha256 in m and str(record.bytes) in m for m in messages)


# --------------------------------------------------------------------------------------------
# fetch_acs_table: chunking and merging
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True], ids=["api-order", "reversed"])
def test_fetch_acs_table_splits_and_merges(
    server: ScriptedServer, tmp_path: Path, acs_table: list[list[str]], reverse: bool
) -> None:
    header = acs_table[0]
    variables = [name for name in header if name not in ("NAME", *GEO_COLUMNS)]
    assert len(variables) == 50  # the real table: 25 E/M pairs
    if reverse:
        variables.reverse()
    server.script("/data/2023/acs/acs5", acs_responder(acs_table))
    destination = tmp_path / "acs.json"

    record = fetch_acs_table(
        2023, "09", variables, destination, base_url=server.url("/data"), sleep=no_sleep
    )

    columns = [header.index(name) for name in ["NAME", *variables, *GEO_COLUMNS]]
    expected = [[row[i] for i in columns] for row in acs_table]
    written = json.loads(destination.read_bytes())
    assert written == expected
    assert all(isinstance(v, str) for row in written for v in row)
    gets = [query["get"][0].split(",") for _, query in server.requests]
    assert [len(g) for g in gets] == [50, 2]
    assert all(g[0] == "NAME" for g in gets)
    assert len(record.urls) == 2
    assert record.url == record.urls[0]
    assert record.attempts == 2
    assert record.bytes == destination.stat().st_size
    assert record.sha256 == sha256_file(destination)
    assert record.etag is None
    # Each response is recorded as the server sent it, before the join.
    sent = [
        json.dumps(
            [[row[header.index(name)] for name in [*get, *GEO_COLUMNS]] for row in acs_table]
        ).encode()
        for get in gets
    ]
    assert [r["url"] for r in record.responses] == list(record.urls)
    assert [r["bytes"] for r in record.responses] == [len(body) for body in sent]
    assert [r["sha256"] for r in record.responses] == [
        hashlib.sha256(body).hexdigest() for body in sent
    ]
    assert listing(tmp_path) == ["acs.json"]


def test_fetch_acs_table_single_request_matches_api_shape(
    server: ScriptedServer, tmp_path: Path, acs_table: list[list[str]]
) -> None:
    server.script("/data/2023/acs/acs5", acs_responder(acs_table))
    destination = tmp_path / "acs.json"
    record = fetch_acs_table(
        2023,
        "09",
        ["B03002_001E", "B03002_001M"],
        destination,
        unit=TRACT,
        base_url=server.url("/data"),
    )
    text = destination.read_text(encoding="utf-8")
    assert text.startswith('[["NAME","B03002_001E","B03002_001M","state","county","tract"],\n')
    assert json.loads(text)[1] == [
        "Census Tract 4001.01; Capitol Planning Region; Connecticut",
        "2833",
        "377",
        "09",
        "110",
        "400101",
    ]
    validate_census_api_json(destination.read_bytes())
    query = parse_qs(urlsplit(record.url).query)
    assert query == {
        "get": ["NAME,B03002_001E,B03002_001M"],
        "for": ["tract:*"],
        "in": ["state:09"],
    }


def test_fetch_acs_table_writes_nothing_if_a_chunk_fails(
    server: ScriptedServer, tmp_path: Path, acs_table: list[list[str]]
) -> None:
    header = acs_table[0]
    variables = [name for name in header if name not in ("NAME", *GEO_COLUMNS)]
    responder = acs_responder(acs_table)

    def respond(query: Query) -> Reply:
        """The first chunk (NAME + 49 variables) succeeds, the second keeps failing."""
        first_chunk = len(query["get"][0].split(",")) == download.CENSUS_API_MAX_GET
        return responder(query) if first_chunk else Reply(503)

    server.script("/data/2023/acs/acs5", respond)
    with pytest.raises(DownloadError):
        fetch_acs_table(
            2023,
            "09",
            variables,
            tmp_path / "acs.json",
            base_url=server.url("/data"),
            max_attempts=2,
            sleep=no_sleep,
        )
    assert server.count("/data/2023/acs/acs5") == 3
    assert listing(tmp_path) == []


def test_fetch_acs_table_rejects_chunks_covering_different_tracts(
    server: ScriptedServer, tmp_path: Path, acs_table: list[list[str]]
) -> None:
    header = acs_table[0]
    variables = [name for name in header if name not in ("NAME", *GEO_COLUMNS)]
    full, short = acs_responder(acs_table), acs_responder(acs_table[:-1])
    server.script("/data/2023/acs/acs5", full, short)
    with pytest.raises(DownloadError, match="different units"):
        fetch_acs_table(2023, "09", variables, tmp_path / "acs.json", base_url=server.url("/data"))
    assert listing(tmp_path) == []


def test_fetch_acs_table_reports_unknown_variable(
    server: ScriptedServer, tmp_path: Path, acs_table: list[list[str]]
) -> None:
    server.script("/data/2023/acs/acs5", acs_responder(acs_table))
    with pytest.raises(DownloadError, match="unknown variable 'B03002_099E'"):
        fetch_acs_table(
            2023,
            "09",
            ["B03002_001E", "B03002_099E"],
            tmp_path / "a.json",
            base_url=server.url("/data"),
        )
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------
# fetch_acs_table: block groups, county by county
# --------------------------------------------------------------------------------------------

#: SYNTHETIC responses (made-up values, not Census figures) in the Census API's JSON shapes:
#: the county list (unsorted: nothing promises its order) and each county's block groups.
ACS_PATH = "/data/2023/acs/acs5"
BG_COUNTIES = [
    ["NAME", "state", "county"],
    ["Greater Bridgeport Planning Region, Connecticut", "09", "120"],
    ["Capitol Planning Region, Connecticut", "09", "110"],
]
BG_GEO_COLUMNS = ["state", "county", "tract", "block group"]
#: 50 variables: two requests per county (NAME + 49, NAME + 1).
BG_VARIABLES = [f"B01001_{i:03d}E" for i in range(1, 51)]
BG_CHUNK_GETS = [",".join(["NAME", *BG_VARIABLES[:49]]), f"NAME,{BG_VARIABLES[49]}"]
#: Each county's (tract, block group) codes, in the order the API sends them.
BG_UNITS = {
    "110": [("400101", "1"), ("400101", "2"), ("400200", "1")],
    "120": [("010100", "3"), ("010100", "1")],
}


def synthetic_block_groups(county: str) -> list[list[str]]:
    """A county's block-group table with every BG_VARIABLE, header first, as the API sends it."""
    region = next(row[0] for row in BG_COUNTIES if row[2] == county)
    table = [["NAME", *BG_VARIABLES, *BG_GEO_COLUMNS]]
    for number, (tract, group) in enumerate(BG_UNITS[county]):
        tract_name = f"{int(tract[:4])}.{tract[4:]}".removesuffix(".00")
        name = f"Block Group {group}; Census Tract {tract_name}; {region.replace(', ', '; ')}"
        values = [str(int(county) * 1000 + 100 * number + i) for i in range(len(BG_VARIABLES))]
        table.append([name, *values, "09", county, tract, group])
    return table


BG_TABLES = {county: synthetic_block_groups(county) for county in BG_UNITS}


def block_group_responder(
    tables: Mapping[str, list[list[str]]], counties: list[list[str]] = BG_COUNTIES
) -> Callable[[Query], Reply]:
    """Answer like the Census API: Connecticut's county list, or one county's block groups
    (the columns asked for in ``get``, then the geography columns); HTTP 204 and no body for
    a county ``tables`` lacks, as the API answers a query that matches nothing."""

    def respond(query: Query) -> Reply:
        names = query["get"][0].split(",")
        if len(names) > download.CENSUS_API_MAX_GET:
            return Reply(400, b"error: a maximum of 50 variables may be requested")
        if query["for"] == ["county:*"] and query["in"] == ["state:09"] and names == ["NAME"]:
            return Reply(200, json.dumps(counties).encode())
        parents = query["in"][0]
        if query["for"] != ["block group:*"] or not parents.startswith("state:09 county:"):
            return Reply(400, b"error: unknown/unsupported geography hierarchy")
        table = tables.get(parents.removeprefix("state:09 county:"))
        if table is None:
            return Reply(204)
        columns = [table[0].index(name) for name in [*names, *BG_GEO_COLUMNS]]
        return Reply(200, json.dumps([[row[i] for i in columns] for row in table]).encode())

    return respond


def fetch_block_groups(server: ScriptedServer, destination: Path) -> DownloadRecord:
    return fetch_acs_table(
        2023,
        "09",
        BG_VARIABLES,
        destination,
        unit=BLOCK_GROUP,
        base_url=server.url("/data"),
        max_attempts=2,
        sleep=no_sleep,
    )


def test_fetch_block_groups_county_by_county(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENSUS_API_KEY", SENTINEL_KEY)
    server.script(ACS_PATH, block_group_responder(BG_TABLES))
    destination = tmp_path / "bg.json"

    record = fetch_block_groups(server, destination)

    # The county list, then each county in code order, chunk by chunk.
    sent = [{k: v for k, v in query.items() if k != "key"} for _, query in server.requests]
    assert sent == [
        {"get": ["NAME"], "for": ["county:*"], "in": ["state:09"]},
        *(
            {"get": [get], "for": ["block group:*"], "in": [f"state:09 county:{county}"]}
            for county in ("110", "120")
            for get in BG_CHUNK_GETS
        ),
    ]
    assert [query["key"] for _, query in server.requests] == [[SENTINEL_KEY]] * 5
    text = destination.read_text(encoding="utf-8")
    assert text.startswith('[["NAME","B01001_001E",')
    assert len(text.splitlines()) == 1 + 3 + 2  # one row per line, as the API sends it
    written = json.loads(text)
    assert written[0] == ["NAME", *BG_VARIABLES, *BG_GEO_COLUMNS]
    # Counties in code order, each county's rows in the API's order.
    assert written == [*BG_TABLES["110"], *BG_TABLES["120"][1:]]
    assert written[1][0] == (
        "Block Group 1; Census Tract 4001.01; Capitol Planning Region; Connecticut"
    )
    assert [row[-2:] for row in written[4:]] == [["010100", "3"], ["010100", "1"]]
    validate_census_api_json(destination.read_bytes())
    assert [parse_qs(urlsplit(url).query) for url in record.urls] == sent
    assert record.url == record.urls[0]
    assert record.attempts == 5
    assert record.sha256 == sha256_file(destination)
    assert record.etag is None
    assert [r["url"] for r in record.responses] == list(record.urls)
    assert SENTINEL_KEY not in json.dumps(record.to_dict())
    assert listing(tmp_path) == ["bg.json"]


def test_fetch_block_groups_writes_nothing_if_a_county_fails(
    server: ScriptedServer, tmp_path: Path
) -> None:
    answer = block_group_responder(BG_TABLES)

    def respond(query: Query) -> Reply:
        """County 110 succeeds; county 120's requests keep failing."""
        return Reply(503) if query["in"] == ["state:09 county:120"] else answer(query)

    server.script(ACS_PATH, respond)
    destination = tmp_path / "bg.json"
    destination.write_bytes(b"old table")
    with pytest.raises(DownloadError) as excinfo:
        fetch_block_groups(server, destination)
    assert str(excinfo.value).startswith(
        "block groups of county 09120 (Greater Bridgeport Planning Region, Connecticut): GET "
    )
    assert "in=state%3A09+county%3A120" in str(excinfo.value)
    assert "failed after 2 attempts; last problem: HTTP 503" in str(excinfo.value)
    assert server.count(ACS_PATH) == 1 + 2 + 2  # the list, county 110's chunks, 2 attempts
    assert destination.read_bytes() == b"old table"
    assert listing(tmp_path) == ["bg.json"]


@pytest.mark.parametrize(
    ("tables", "problem"),
    [
        ({"110": BG_TABLES["110"]}, "empty body"),  # the API's HTTP 204: no match
        ({**BG_TABLES, "120": BG_TABLES["120"][:1]}, "a header but no data rows"),
    ],
    ids=["no-content", "header-only"],
)
def test_fetch_block_groups_rejects_a_county_without_block_groups(
    server: ScriptedServer, tmp_path: Path, tables: dict[str, list[list[str]]], problem: str
) -> None:
    server.script(ACS_PATH, block_group_responder(tables))
    with pytest.raises(DownloadError, match=rf"^block groups of county 09120 .*{problem}"):
        fetch_block_groups(server, tmp_path / "bg.json")
    assert listing(tmp_path) == []


def test_fetch_block_groups_rejects_chunks_covering_different_block_groups(
    server: ScriptedServer, tmp_path: Path
) -> None:
    full = block_group_responder(BG_TABLES)
    short = block_group_responder({"120": BG_TABLES["120"][:-1]})

    def respond(query: Query) -> Reply:
        """County 120's second chunk lacks its last block group."""
        second = query["get"] == [BG_CHUNK_GETS[1]] and query["in"] == ["state:09 county:120"]
        return (short if second else full)(query)

    server.script(ACS_PATH, respond)
    with pytest.raises(DownloadError, match=r"^block groups of county 09120 .*different units"):
        fetch_block_groups(server, tmp_path / "bg.json")
    assert listing(tmp_path) == []


def test_fetch_block_groups_rejects_a_block_group_in_two_counties(
    server: ScriptedServer, tmp_path: Path
) -> None:
    stray = BG_TABLES["110"][1]
    server.script(ACS_PATH, block_group_responder({**BG_TABLES, "120": [*BG_TABLES["120"], stray]}))
    with pytest.raises(DownloadError) as excinfo:
        fetch_block_groups(server, tmp_path / "bg.json")
    assert str(excinfo.value) == (
        "block groups of county 09120 (Greater Bridgeport Planning Region, Connecticut): "
        "geography ('09', '110', '400101', '1') was also returned for block groups of county "
        "09110 (Capitol Planning Region, Connecticut)"
    )
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("counties", "message"),
    [
        ([["NAME", "state", "county"], ["Kent County, Rhode Island", "44", "003"]], "'44'"),
        ([["NAME", "state", "county"], ["Capitol Planning Region", "09", "11"]], "'11'"),
        ([["NAME", "state"], ["Connecticut", "09"]], "geography columns"),
    ],
    ids=["other-state", "short-code", "no-county-column"],
)
def test_fetch_block_groups_rejects_a_bad_county_list(
    server: ScriptedServer, tmp_path: Path, counties: list[list[str]], message: str
) -> None:
    server.script(ACS_PATH, block_group_responder(BG_TABLES, counties))
    with pytest.raises(DownloadError, match=message):
        fetch_block_groups(server, tmp_path / "bg.json")
    assert server.count(ACS_PATH) == 1  # no block group was requested
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------
# The API key
# --------------------------------------------------------------------------------------------


def test_api_key_is_sent_but_never_leaks(
    server: ScriptedServer,
    tmp_path: Path,
    acs_table: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CENSUS_API_KEY", SENTINEL_KEY)
    caplog.set_level(logging.DEBUG)  # includes urllib3's request lines, which carry the URL
    header = acs_table[0]
    variables = [name for name in header if name not in ("NAME", *GEO_COLUMNS)]
    base = server.url("/data")
    server.script("/data/2023/acs/acs5", Reply(503), acs_responder(acs_table))

    record = fetch_acs_table(
        2023, "09", variables, tmp_path / "acs.json", base_url=base, sleep=no_sleep
    )
    write_record(record, tmp_path / "acs.record.json")

    assert [query["key"] for _, query in server.requests] == [[SENTINEL_KEY]] * 3
    for url, (_, query) in zip(record.urls, server.requests[1:], strict=True):
        assert parse_qs(urlsplit(url).query) == {k: v for k, v in query.items() if k != "key"}
    assert "key=REDACTED" in caplog.text  # urllib3 logged the request, redacted

    failures: list[str] = []
    echo = f"<html>Invalid Key: {SENTINEL_KEY} is not a valid key</html>".encode()
    # The key straddles the 200-character excerpt limit of the validator's message.
    straddling = b"Invalid Key " + b"x" * 178 + SENTINEL_KEY.encode() + b" is not valid"
    for reply in [Reply(400, echo), Reply(200, echo), Reply(500, echo), Reply(200, straddling)]:
        server.script("/data/2023/acs/acs5", reply)
        with pytest.raises(DownloadError) as excinfo:
            fetch_acs_table(
                2023,
                "09",
                variables,
                tmp_path / "x.json",
                base_url=base,
                max_attempts=2,
                sleep=no_sleep,
            )
        failures.append(error_text(excinfo))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/data"
    with pytest.raises(DownloadError) as excinfo:
        fetch_acs_table(
            2023, "09", ["B01003_001E"], tmp_path / "x.json", base_url=closed, max_attempts=1
        )
    failures.append(error_text(excinfo))
    assert "Invalid Key" in failures[0]
    assert "key=REDACTED" in failures[-1]  # requests put the request URL in its message

    assert SENTINEL_KEY not in json.dumps(record.to_dict())
    for text in [*failures, caplog.text]:
        assert SENTINEL_KEY not in text
        assert "sEcReT" not in text
    for path in tmp_path.rglob("*"):
        assert b"sEcReT" not in path.read_bytes(), path
    assert listing(tmp_path) == ["acs.json", "acs.record.json"]


def test_no_key_parameter_without_env(
    server: ScriptedServer,
    tmp_path: Path,
    acs_table: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CENSUS_API_KEY", raising=False)
    server.script("/data/2023/acs/acs5", acs_responder(acs_table))
    fetch_acs_table(2023, "09", ["B01003_001E"], tmp_path / "a.json", base_url=server.url("/data"))
    assert all("key" not in query for _, query in server.requests)


# --------------------------------------------------------------------------------------------
# Validators, records, checksums
# --------------------------------------------------------------------------------------------


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_validate_zip_accepts_shapefile_archive() -> None:
    validate_zip(make_zip({"cb_2020_09_tract_500k.shp": b"\x00" * 100, "x.dbf": b"dbf"}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"this is not a zip", "not a valid zip"),
        (b"", "not a valid zip"),
        (make_zip({"readme.txt": b"no shapes here"}), "no .shp member"),
    ],
)
def test_validate_zip_rejects(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_zip(body)


def test_validate_zip_rejects_corrupt_member() -> None:
    body = make_zip({"a.shp": b"shape data " * 50}, zipfile.ZIP_STORED)
    with pytest.raises(ValueError, match=r"'a\.shp' is corrupt"):
        validate_zip(body.replace(b"shape data", b"shape dat!", 1))


def test_fetch_boundary_zip(server: ScriptedServer, tmp_path: Path) -> None:
    body = make_zip({"cb_2023_09_tract_500k.shp": b"shp", "cb_2023_09_tract_500k.dbf": b"dbf"})
    url = server.script("/geo/tiger/GENZ2023/shp/cb_2023_09_tract_500k.zip", Reply(200, body))
    assert url == cartographic_boundary_url(2023, "09", "tract", base_url=server.url("/geo/tiger"))
    record = fetch(url, tmp_path / "tract.zip", validate=validate_zip)
    assert (tmp_path / "tract.zip").read_bytes() == body
    assert record.sha256 == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b'[["NAME","state"],["A","09"', "malformed JSON"),
        (b'{"NAME": "A"}', "array of arrays"),
        (b'[["NAME","state"]]', "no data rows"),
        (b"[[]]", "header"),
        (b'[["NAME",1],["A","09"]]', "header"),
        (b'[["NAME","state"],["A","09"],["B"]]', "differ in length"),
        (b"error: unknown variable 'B03002_099E'", "Census API error body: error: unknown"),
    ],
)
def test_validate_census_api_json_rejects(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_census_api_json(body)


def test_validate_census_api_json_quotes_at_most_200_chars() -> None:
    with pytest.raises(ValueError) as excinfo:
        validate_census_api_json(b"error: " + b"y" * 1000)
    assert "y" * 193 in str(excinfo.value)
    assert "y" * 194 not in str(excinfo.value)


def test_validate_census_api_json_accepts_real_table() -> None:
    if not ACS_2023_CT.exists():
        pytest.skip(f"shared real data not available at {ACS_2023_CT}")
    validate_census_api_json(ACS_2023_CT.read_bytes())


def test_validate_csv() -> None:
    validate_csv("\ufefftract,town\n09110400101,Hartford\n".encode())
    for body, message in [
        (b"", "empty"),
        (b"tract,town\n\n", "no data rows"),
        (b"<!DOCTYPE html><html></html>", "HTML"),
        (b"tract\n\xff\xfe\n", "not UTF-8"),
    ]:
        with pytest.raises(ValueError, match=message):
            validate_csv(body)


def test_write_record_and_sha256_file(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"abc" * 1000)
    assert sha256_file(data, chunk_size=7) == hashlib.sha256(b"abc" * 1000).hexdigest()
    record = DownloadRecord(
        url="https://example.invalid/x?get=NAME",
        destination=str(data),
        bytes=3000,
        sha256=sha256_file(data),
        retrieved_at="2024-01-01T00:00:00+00:00",
        http_status=200,
        last_modified=None,
        etag=None,
        attempts=1,
        urls=("https://example.invalid/x?get=NAME",),
    )
    path = tmp_path / "records" / "data.json"
    write_record(record, path)
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(record.to_dict(), sort_keys=True, indent=2) + "\n"
    assert json.loads(text)["urls"] == ["https://example.invalid/x?get=NAME"]
    assert listing(tmp_path / "records") == ["data.json"]
    with pytest.raises(AttributeError):
        record.bytes = 1  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# The Census 2020-to-2010 relationship files (tracts and block groups)
# --------------------------------------------------------------------------------------------

#: SYNTHETIC rows (not Census figures) in the published layout of tab20_tract20_tract10:
#: 2010 tract 09001010100 (land 1,000 m²) split 600/400 into two 2020 tracts; 09001010200
#: unchanged.
RELATIONSHIP_HEADER = (
    "OID_TRACT_20|GEOID_TRACT_20|NAMELSAD_TRACT_20|AREALAND_TRACT_20|AREAWATER_TRACT_20|"
    "MTFCC_TRACT_20|FUNCSTAT_TRACT_20|OID_TRACT_10|GEOID_TRACT_10|NAMELSAD_TRACT_10|"
    "AREALAND_TRACT_10|AREAWATER_TRACT_10|MTFCC_TRACT_10|FUNCSTAT_TRACT_10|AREALAND_PART|"
    "AREAWATER_PART"
)
SYNTHETIC_RELATIONSHIPS = (
    "\n".join(
        [
            RELATIONSHIP_HEADER,
            "1|09001010101|Census Tract 101.01|600|0|G5020|S|11|09001010100|Census Tract 101|"
            "1000|0|G5020|S|600|0",
            "2|09001010102|Census Tract 101.02|400|0|G5020|S|11|09001010100|Census Tract 101|"
            "1000|0|G5020|S|400|0",
            "3|09001010200|Census Tract 102|500|5|G5020|S|12|09001010200|Census Tract 102|"
            "500|5|G5020|S|500|5",
        ]
    )
    + "\n"
).encode("utf-8")


def synthetic_relationships(unit: UnitLevel) -> bytes:
    """SYNTHETIC_RELATIONSHIPS as ``unit``'s file. The block-group file has the tract file's
    layout with BLKGRP in place of TRACT; its units here are block group 1 of each tract."""
    if unit == TRACT:
        return SYNTHETIC_RELATIONSHIPS
    text = SYNTHETIC_RELATIONSHIPS.decode().replace("TRACT", "BLKGRP")
    return re.sub(r"\|(09\d{9})\|Census Tract [\d.]+\|", r"|\g<1>1|Block Group 1|", text).encode()


@pytest.mark.parametrize(
    ("unit", "path"),
    [
        (TRACT, "rel2020/tract/tab20_tract20_tract10_natl.txt"),
        (BLOCK_GROUP, "rel2020/blkgrp/tab20_blkgrp20_blkgrp10_natl.txt"),
    ],
    ids=["tract", "block_group"],
)
def test_relationship_url(unit: UnitLevel, path: str) -> None:
    # The published addresses (Census rel2020 files), from the vintage table.
    assert download.relationship_url(2010, 2020, unit) == (
        f"https://www2.census.gov/geo/docs/maps-data/data/{path}"
    )
    assert download.relationship_url(2010, 2020, unit, base_url="http://127.0.0.1:1/rel/") == (
        f"http://127.0.0.1:1/rel/{path}"
    )


@pytest.mark.parametrize("unit", [TRACT, BLOCK_GROUP], ids=["tract", "block_group"])
def test_fetch_relationships_writes_the_file_unchanged_and_harmonise_reads_it(
    server: ScriptedServer, tmp_path: Path, unit: UnitLevel
) -> None:
    from housing_segregation.harmonise import read_relationships

    body = synthetic_relationships(unit)
    url = download.relationship_url(2010, 2020, unit, base_url=server.url("/"))
    server.script(urlsplit(url).path, Reply(503), Reply(200, body))
    destination = tmp_path / "census-rel2020" / "rel.txt"
    record = fetch(
        url,
        destination,
        validate=download.relationship_validator(unit),
        backoff_seconds=0,
        sleep=no_sleep,
    )
    assert destination.read_bytes() == body
    assert record.url == url and record.attempts == 2
    assert record.sha256 == hashlib.sha256(body).hexdigest()
    write_record(record, tmp_path / "record.json")
    assert json.loads((tmp_path / "record.json").read_text())["bytes"] == len(body)
    weights = read_relationships(destination, state="09", unit=unit)
    old, split, new, same = (
        f"{geoid}{'' if unit == TRACT else '1'}"
        for geoid in ("09001010100", "09001010101", "09001010102", "09001010200")
    )
    assert weights.to_dict("records") == [
        {"source_geoid": old, "target_geoid": split, "weight": 0.6},
        {"source_geoid": old, "target_geoid": new, "weight": 0.4},
        {"source_geoid": same, "target_geoid": same, "weight": 1.0},
    ]


def test_relationship_columns_per_unit_level() -> None:
    assert download.relationship_columns(TRACT) == (
        "GEOID_TRACT_20",
        "GEOID_TRACT_10",
        "AREALAND_TRACT_10",
        "AREAWATER_TRACT_10",
        "AREALAND_PART",
        "AREAWATER_PART",
    )
    assert download.relationship_columns(BLOCK_GROUP) == (
        "GEOID_BLKGRP_20",
        "GEOID_BLKGRP_10",
        "AREALAND_BLKGRP_10",
        "AREAWATER_BLKGRP_10",
        "AREALAND_PART",
        "AREAWATER_PART",
    )


def test_relationship_validator_per_unit_level() -> None:
    tracts, block_groups = (synthetic_relationships(unit) for unit in (TRACT, BLOCK_GROUP))
    download.relationship_validator(TRACT)(tracts)
    download.relationship_validator(BLOCK_GROUP)(block_groups)
    with pytest.raises(ValueError, match=r"lacks column.*GEOID_BLKGRP_20"):
        download.relationship_validator(BLOCK_GROUP)(tracts)
    with pytest.raises(ValueError, match=r"lacks column.*GEOID_TRACT_20"):
        download.relationship_validator(TRACT)(block_groups)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Service unavailable</body></html>", "got HTML"),
        (b"GEOID_TRACT_20|GEOID_TRACT_10\n1|2\n", "lacks column.*AREALAND_TRACT_10"),
        (RELATIONSHIP_HEADER.encode() + b"\n", "no data rows"),
        (b"", "empty"),
        (b"\xff\xfe|", "not UTF-8"),
    ],
)
def test_a_bad_relationship_file_is_not_written(
    server: ScriptedServer, tmp_path: Path, body: bytes, message: str
) -> None:
    url = server.script("/rel.txt", Reply(200, body))
    with pytest.raises(DownloadError, match=message):
        fetch(url, tmp_path / "rel.txt", validate=download.relationship_validator(TRACT))
    assert listing(tmp_path) == []
