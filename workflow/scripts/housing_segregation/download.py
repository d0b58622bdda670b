"""Download Census inputs reliably: retries, validation, atomic writes and provenance records.

Every download goes through :func:`fetch` (or :func:`fetch_acs_table` and
:func:`fetch_arcgis_query`, which build on the same request loop), so all inputs get the same
guarantees:

* transient failures (HTTP 429, 5xx, connection errors, timeouts, truncated bodies) are retried
  with exponential backoff; anything else fails at once with the server's own message;
* the body is validated before it is written, because the Census API answers some errors with
  HTTP 200 (an HTML "Invalid Key" page, or a plain-text ``error: ...`` body);
* the file appears atomically or not at all, so a failed run never leaves a half-written input
  that a later Snakemake run would mistake for a good one;
* a :class:`DownloadRecord` (URL, size, sha256, time, HTTP metadata) documents where the data
  came from.

The optional Census API key (``CENSUS_API_KEY``) is added to the query string only when the
request is sent. Recorded URLs, log messages, exception texts and written files never contain it.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from . import vintages
from .units import TRACT, UNIT_LEVELS, UnitLevel

LOG = logging.getLogger("housing_segregation.download")

#: Production hosts. Every URL builder takes ``base_url`` so tests can point at a local server.
CENSUS_API_BASE = "https://api.census.gov/data"
CENSUS_GEO_BASE = "https://www2.census.gov/geo/tiger"
CENSUS_RELATIONSHIP_BASE = "https://www2.census.gov/geo/docs/maps-data/data"

#: The Census Data API accepts at most 50 names in ``get``; ``NAME`` takes one of them.
CENSUS_API_MAX_GET = 50
MAX_VARIABLES_PER_REQUEST = CENSUS_API_MAX_GET - 1

#: Upper bound on any single wait, including a server's ``Retry-After``.
MAX_WAIT_SECONDS = 60.0

API_KEY_ENV_VAR = "CENSUS_API_KEY"
#: The cartographic layers: each unit level's (``tract``, ``bg``) and the towns' (``cousub``).
BOUNDARY_LAYERS = frozenset({*(level.boundary_layer for level in UNIT_LEVELS.values()), "cousub"})
USER_AGENT = "housing-segregation-pipeline (python-requests)"

_STATE_FIPS = re.compile(r"\d{2}")
_COUNTY_FIPS = re.compile(r"\d{3}")
_KEY_PARAM = re.compile(r"([?&]key=)[^&#\s'\"]*", re.IGNORECASE)
_REDACTED = "REDACTED"

# requests wraps urllib3's IncompleteRead (a body shorter than Content-Length) in
# ChunkedEncodingError; Timeout and ConnectionError cover connect/read timeouts and resets.
_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class DownloadError(RuntimeError):
    """A download failed for good: retries exhausted, a client error, or an invalid body."""


@dataclasses.dataclass(frozen=True)
class DownloadRecord:
    """Provenance of one written file.

    ``url`` is the request URL (with query string, without the API key). ``urls`` lists every
    request that contributed to the file: one URL for :func:`fetch`; for
    :func:`fetch_acs_table` one per variable chunk (per county for block groups, after the
    county list), and then ``url`` is the first of them. ``bytes`` and ``sha256``
    describe the file as written, ``attempts`` counts HTTP attempts over all requests.
    ``responses`` gives each response's URL, bytes and sha256 as received, so an auditor can
    tie a file joined from several API requests back to what the server sent.
    """

    url: str
    destination: str
    bytes: int
    sha256: str
    retrieved_at: str
    http_status: int
    last_modified: str | None
    etag: str | None
    attempts: int
    urls: tuple[str, ...] = ()
    responses: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (``urls`` and ``responses`` as lists)."""
        data = dataclasses.asdict(self)
        data["urls"] = list(self.urls)
        data["responses"] = [dict(response) for response in self.responses]
        return data


@dataclasses.dataclass(frozen=True)
class _Response:
    """A complete, validated HTTP response held in memory."""

    url: str
    body: bytes
    status: int
    last_modified: str | None
    etag: str | None
    attempts: int


class _RedactKeyFilter(logging.Filter):
    """Strip ``key=...`` from urllib3's debug lines, which log the full request URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _KEY_PARAM.search(message):
            record.msg = _KEY_PARAM.sub(rf"\1{_REDACTED}", message)
            record.args = ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactKeyFilter())


# --------------------------------------------------------------------------------------------
# URLs and query parameters
# --------------------------------------------------------------------------------------------


def census_api_url(year: int, dataset: str = "acs/acs5", base_url: str = CENSUS_API_BASE) -> str:
    """Return the Census Data API endpoint, e.g. ``https://api.census.gov/data/2023/acs/acs5``."""
    return f"{base_url.rstrip('/')}/{year}/{dataset.strip('/')}"


def acs_query_params(
    variables: Sequence[str],
    state_fips: str,
    unit: UnitLevel = TRACT,
    county_fips: str | None = None,
) -> dict[str, str]:
    """Return the query parameters for ``variables`` of every ``unit`` in a state, or, for
    block groups, in one county of it (``county_fips``, three digits).

    The API serves block groups only county by county (``in=state:09 county:110``, the parent
    geographies separated by a space), tracts for a whole state; ``county_fips`` is required
    for the one and refused for the other. ``variables`` are full API names (with their
    ``E``/``M`` suffix) and keep their order. ``NAME`` is always requested first, so at most
    49 variables fit in one request; larger requests must be split (see
    :func:`fetch_acs_table`).
    """
    _check_state_fips(state_fips)
    parents = f"state:{state_fips}"
    if unit.requested_by_county:
        if county_fips is None:
            raise ValueError(
                f"the Census API serves {unit.label}s county by county; pass county_fips"
            )
        _check_county_fips(county_fips)
        parents += f" county:{county_fips}"
    elif county_fips is not None:
        raise ValueError(
            f"{unit.label}s are requested for the whole state, not county {county_fips!r}"
        )
    _check_variables(variables)
    if len(variables) > MAX_VARIABLES_PER_REQUEST:
        raise ValueError(
            f"{len(variables)} variables plus NAME exceed the Census API limit of "
            f"{CENSUS_API_MAX_GET} names per request; split the request "
            f"(at most {MAX_VARIABLES_PER_REQUEST} variables each)"
        )
    return {
        "get": ",".join(["NAME", *variables]),
        "for": f"{unit.api_geography}:*",
        "in": parents,
    }


def county_list_params(state_fips: str) -> dict[str, str]:
    """Return the query parameters listing a state's counties (code and NAME), which
    :func:`fetch_acs_table` needs first because block groups are served county by county."""
    _check_state_fips(state_fips)
    return {"get": "NAME", "for": "county:*", "in": f"state:{state_fips}"}


def cartographic_boundary_url(
    year: int, state_fips: str, layer: str, base_url: str = CENSUS_GEO_BASE
) -> str:
    """Return the URL of a state's 1:500,000 cartographic boundary shapefile (zip) of boundary
    vintage ``year``.

    The layout comes from the vintage table (:func:`vintages.boundary_layout`):
    ``GENZ{year}/shp/cb_{year}_{state}_{layer}_500k.zip`` from 2014 on (confirmed for 2019,
    2020 and 2023); earlier vintages used other layouts and are rejected. Files follow the
    geography of their vintage: 2019 has 2010-census tracts, 2020 onwards 2020-census tracts;
    Connecticut's files from 2022 on use the planning regions as county equivalents (the
    table's ``county_equivalents``), with the same tract and town lines.
    """
    template = vintages.boundary_layout(year)
    _check_state_fips(state_fips)
    if layer not in BOUNDARY_LAYERS:
        raise ValueError(
            f"unknown boundary layer {layer!r}; expected one of {sorted(BOUNDARY_LAYERS)}"
        )
    path = template.format(vintage=year, state=state_fips, layer=layer)
    return f"{base_url.rstrip('/')}/{path}"


def relationship_url(
    source_decade: int = 2010,
    target_decade: int = 2020,
    unit: UnitLevel = TRACT,
    base_url: str = CENSUS_RELATIONSHIP_BASE,
) -> str:
    """Return the URL of the Census relationship file between two censuses' ``unit``s (the
    national file; where it lies comes from the vintage table), e.g.
    ``.../rel2020/tract/tab20_tract20_tract10_natl.txt`` or
    ``.../rel2020/blkgrp/tab20_blkgrp20_blkgrp10_natl.txt``."""
    entry = vintages.relationship_file(source_decade, target_decade, unit.name)
    return f"{base_url.rstrip('/')}/{entry.url_path.lstrip('/')}"


def census_api_key() -> str | None:
    """Return ``CENSUS_API_KEY`` from the environment, or None when unset or empty.

    The API works without a key for small volumes; a key raises the rate limit.
    """
    return os.environ.get(API_KEY_ENV_VAR) or None


def _check_state_fips(state_fips: str) -> None:
    if not _STATE_FIPS.fullmatch(state_fips):
        raise ValueError(f"state FIPS code must be two digits, got {state_fips!r}")


def _check_county_fips(county_fips: str) -> None:
    if not isinstance(county_fips, str) or not _COUNTY_FIPS.fullmatch(county_fips):
        raise ValueError(f"county FIPS code must be three digits, got {county_fips!r}")


def _check_variables(variables: Sequence[str]) -> None:
    if not variables:
        raise ValueError("no variables requested")
    if "NAME" in variables:
        raise ValueError("NAME is always requested; do not list it among the variables")
    duplicates = sorted({v for v in variables if variables.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate variables: {duplicates}")


# --------------------------------------------------------------------------------------------
# Validators: each raises ValueError with a message saying what is wrong with the body.
# --------------------------------------------------------------------------------------------


def validate_census_api_json(body: bytes) -> None:
    """Check that ``body`` is a Census API table: a JSON array of equally long arrays.

    The API reports some errors with HTTP 200, as an HTML page ("Invalid Key") or as plain text
    (``error: unknown variable ...``); those get a message quoting the body. An empty body is
    what the API sends (HTTP 204) when no geography matches the query.
    """
    if not body.strip():
        raise ValueError("empty body (the Census API sends none when the query matches nothing)")
    text = body.decode("utf-8", errors="replace")
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("["):
            raise ValueError(f"malformed JSON (truncated?): {exc}") from None
        hint = ""
        if "invalid key" in text.lower():
            hint = f"the API key was rejected (check {API_KEY_ENV_VAR}); "
        raise ValueError(f"{hint}Census API error body: {_excerpt(body, 200)}") from None
    if not isinstance(table, list) or not all(isinstance(row, list) for row in table):
        raise ValueError("expected a JSON array of arrays")
    if not table or not table[0] or not all(isinstance(name, str) for name in table[0]):
        raise ValueError("the first row must be a non-empty header of column names")
    if len(table) < 2:
        raise ValueError("the table has a header but no data rows")
    width = len(table[0])
    ragged = [i for i, row in enumerate(table) if len(row) != width]
    if ragged:
        raise ValueError(
            f"{len(ragged)} rows differ in length from the {width}-column header "
            f"(first: row {ragged[0]})"
        )


def zip_members(body: bytes) -> list[str]:
    """The member names of an intact zip archive; ValueError if it is truncated or corrupt."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            corrupt = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"not a valid zip archive (truncated?): {exc}") from None
    if corrupt is not None:
        raise ValueError(f"zip member {corrupt!r} is corrupt (CRC mismatch)")
    return names


def validate_zip(body: bytes) -> None:
    """Check that ``body`` is an intact zip archive holding a shapefile (a ``.shp`` member)."""
    names = zip_members(body)
    if not any(name.lower().endswith(".shp") for name in names):
        raise ValueError(f"zip archive has no .shp member: {names[:10]}")


def _text(body: bytes, what: str) -> str:
    """``body`` as UTF-8 text (BOM allowed), refusing an HTML page served in its place."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not UTF-8: {exc}") from None
    if text.lstrip().startswith("<"):
        raise ValueError(f"expected {what}, got HTML (it looks like HTML: {_excerpt(body, 200)})")
    return text


def validate_csv(body: bytes) -> None:
    """Check that ``body`` is UTF-8 text (BOM allowed) with a header and at least one data row."""
    text = _text(body, "CSV")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError("CSV is empty")
    if len(rows) < 2:
        raise ValueError("CSV has a header but no data rows")


def pipe_table_validator(required_columns: Sequence[str]) -> Callable[[bytes], None]:
    """A validator of a pipe-delimited UTF-8 table (the Census relationship files) whose
    header holds ``required_columns`` and that has at least one data row."""

    def validate(body: bytes) -> None:
        text = _text(body, "a pipe-delimited table")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError("table is empty")
        header = [name.strip() for name in lines[0].split("|")]
        missing = [name for name in required_columns if name not in header]
        if missing:
            raise ValueError(
                f"the header lacks column(s) {', '.join(missing)}: {_excerpt(body, 200)}"
            )
        if len(lines) < 2:
            raise ValueError("table has a header but no data rows")

    return validate


def relationship_columns(unit: UnitLevel) -> tuple[str, ...]:
    """The columns the pipeline reads of the Census 2020-to-2010 relationship file of ``unit``.

    The tract and block-group files share one layout and differ only in the unit's name in
    the column names (``GEOID_TRACT_20``, ``GEOID_BLKGRP_20``); the overlap's areas are
    ``AREALAND_PART`` and ``AREAWATER_PART`` in both.
    """
    name = unit.relationship_name
    return (
        f"GEOID_{name}_20",
        f"GEOID_{name}_10",
        f"AREALAND_{name}_10",
        f"AREAWATER_{name}_10",
        "AREALAND_PART",
        "AREAWATER_PART",
    )


def relationship_validator(unit: UnitLevel) -> Callable[[bytes], None]:
    """A validator of ``unit``'s relationship file: pipe-delimited, with its columns."""
    return pipe_table_validator(relationship_columns(unit))


class _ArcGISServerError(ValueError):
    """An ArcGIS error object, sent with HTTP 200, whose code says the server failed (retried)."""


def validate_arcgis_json(body: bytes) -> None:
    """Check that ``body`` is an ArcGIS query response: a JSON object with a ``features`` array.

    ArcGIS REST services report failures with HTTP 200 and a body such as
    ``{"error": {"code": 400, "message": "...", "details": [...]}}``; such a body is rejected
    with the server's code and message. Esri JSON (``f=json``) and GeoJSON (``f=geojson``)
    responses are both accepted; the ``features`` array may be empty.
    """
    _parse_arcgis(body)


def _parse_arcgis(body: bytes) -> dict[str, Any]:
    """Return the parsed ArcGIS response, or raise ValueError (``_ArcGISServerError`` when the
    error object's code is 429 or 5xx-like, i.e. worth retrying)."""
    if not body.strip():
        raise ValueError("empty body")
    text = body.decode("utf-8", errors="replace")
    if text.lstrip().startswith("<"):
        raise ValueError(f"expected JSON, got what looks like HTML: {_excerpt(body, 200)}")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON (truncated?): {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    error = payload.get("error")
    if error is not None:
        code, message = _arcgis_error(error)
        if code is not None and (code == 429 or code >= 500):
            raise _ArcGISServerError(f"ArcGIS error {code}: {message}")
        raise ValueError(f"ArcGIS error {code if code is not None else '(no code)'}: {message}")
    features = payload.get("features")
    if not isinstance(features, list):
        raise ValueError(f"JSON without a features array (keys: {sorted(payload)[:10]})")
    return payload


def _arcgis_error(error: object) -> tuple[int | None, str]:
    """The code and a one-line message (with any details) of an ArcGIS error object."""
    if not isinstance(error, dict):
        return None, str(error)[:300]
    try:
        code = int(error.get("code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        code = None
    message = str(error.get("message") or "no message")
    details = [str(detail) for detail in error.get("details") or [] if str(detail).strip()]
    if details:
        message = f"{message} ({'; '.join(details)})"
    return code, " ".join(message.split())[:300]


# --------------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------------


def fetch(
    url: str,
    destination: Path,
    *,
    params: Mapping[str, str] | None = None,
    validate: Callable[[bytes], None],
    transform: Callable[[bytes], bytes] | None = None,
    api_key: str | None = None,
    max_attempts: int = 5,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 60,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadRecord:
    """Download ``url`` to ``destination`` and return its provenance record.

    ``transform``, if given, turns the validated body into what is written (e.g. one
    state's rows of a national table); the record then describes the written file and, in
    ``responses``, the body as received.

    Retries HTTP 429, 5xx, connection errors, timeouts and truncated bodies, waiting
    ``backoff_seconds * 2**(attempt - 1)`` or the server's numeric ``Retry-After`` (whichever is
    longer, at most :data:`MAX_WAIT_SECONDS`). Other 4xx responses fail at once. The body must
    pass ``validate`` (which raises on a bad body) before it is written atomically. ``api_key``
    is sent as the ``key`` query parameter and kept out of records, logs and errors; pass it
    only for the Census Data API (see :func:`census_api_key`).

    Raises :class:`DownloadError`; on any failure neither ``destination`` nor a temporary file
    is created (an existing ``destination`` is left as it was).
    """
    with _session_scope(session) as active:
        response = _download(
            url,
            params=params,
            validate=validate,
            api_key=api_key,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
            session=active,
            sleep=sleep,
        )
    body = response.body
    if transform is not None:
        try:
            body = transform(body)
        except ValueError as error:
            raise DownloadError(f"GET {response.url}: {error}") from None
    return _write_with_record(body, Path(destination), [response])


def fetch_acs_table(
    year: int,
    state_fips: str,
    variables: Sequence[str],
    destination: Path,
    *,
    dataset: str = "acs/acs5",
    unit: UnitLevel = TRACT,
    base_url: str = CENSUS_API_BASE,
    max_attempts: int = 5,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 60,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadRecord:
    """Download ``NAME`` + ``variables`` for every ``unit`` (tract or block group) of a state
    as one table.

    The API allows 49 variables besides ``NAME`` per request, so longer lists are fetched in
    chunks (each repeating ``NAME``) and joined on the trailing geography columns
    (``unit.api_columns``: ``state``, ``county``, ``tract`` [, ``block group``]). Chunks must
    agree on the set of units and their names. Tracts are requested for the whole state. Block
    groups the API serves only county by county, so the state's counties are listed first
    (:func:`county_list_params`) and each county's chunks requested in turn, in county-code
    order; every county must have block groups, and none may appear in two counties.

    The file is a single API-shaped JSON array of arrays (one row per line, as the API sends
    it) with header ``NAME, <variables in the requested order>, <geography columns>`` and the
    values exactly as received, rows in the API's order (county by county for block groups).
    It is written only if every request succeeded; errors name the state or county.

    The API key comes from ``CENSUS_API_KEY`` (optional). The record's ``url`` is the first
    request URL (the county list for block groups) and ``urls`` lists all of them;
    ``bytes``/``sha256`` describe the written file; ``last_modified``/``etag`` are kept only
    when a single request produced the table.
    """
    variables = list(variables)
    _check_variables(variables)
    chunks = [
        variables[start : start + MAX_VARIABLES_PER_REQUEST]
        for start in range(0, len(variables), MAX_VARIABLES_PER_REQUEST)
    ]
    with _session_scope(session) as active:
        get = functools.partial(
            _download,
            census_api_url(year, dataset, base_url),
            validate=validate_census_api_json,
            api_key=census_api_key(),
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
            session=active,
            sleep=sleep,
        )
        responses: list[_Response] = []
        if unit.requested_by_county:
            county_list = get(params=county_list_params(state_fips))
            responses.append(county_list)
            areas = [
                (f"{unit.label}s of county {state_fips}{county} ({name})", county)
                for county, name in _counties(county_list, state_fips)
            ]
        else:
            areas = [(f"{unit.label}s of state {state_fips}", None)]
        fetched: list[tuple[str, list[_Response]]] = []
        for area, county in areas:
            with _naming(area):
                area_responses = [
                    get(params=acs_query_params(chunk, state_fips, unit, county))
                    for chunk in chunks
                ]
            fetched.append((area, area_responses))
            responses.extend(area_responses)
    body = _merge_acs_chunks(chunks, fetched, unit.api_columns)
    return _write_with_record(body, Path(destination), responses)


#: Query parameters that :func:`fetch_arcgis_query` sets itself, page by page.
ARCGIS_PAGING_PARAMS = ("resultOffset", "resultRecordCount")
ARCGIS_FORMATS = frozenset({"json", "geojson"})


def fetch_arcgis_query(
    query_url: str,
    destination: Path,
    *,
    params: Mapping[str, str],
    validate: Callable[[bytes], None] = validate_arcgis_json,
    page_size: int = 1000,
    max_pages: int = 1000,
    max_attempts: int = 5,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 60,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadRecord:
    """Download every feature an ArcGIS REST ``query`` returns, page by page, as one file.

    ``query_url`` is a layer's query endpoint (``.../FeatureServer/<layer>/query``); ``params``
    holds the query (``where``, ``outFields``, ``f`` = ``json`` or ``geojson``, and an
    ``orderByFields`` that makes paging stable). Pages are requested with ``resultOffset`` and
    ``resultRecordCount = page_size`` while the response says ``exceededTransferLimit: true``
    (at the top level, or in a GeoJSON's ``properties``); the offset advances by the number of
    features received, since a server may cap a page below ``page_size``.

    Each page goes through the usual request loop (retries on 429, 5xx, timeouts, truncation).
    ArcGIS also reports errors with HTTP 200 and a JSON ``error`` object: one whose code is 429
    or 5xx-like is retried the same way, with the same backoff and within the same
    ``max_attempts`` per page; any other fails at once with the server's code and message.

    The file is the first page's JSON object with ``features`` replaced by the features of all
    pages in order and the transfer-limit flag removed. It must pass ``validate`` and is written
    only if every page succeeded. The record's ``urls`` and ``responses`` list every page
    request, ``attempts`` counts all of them.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")
    reserved = sorted(set(ARCGIS_PAGING_PARAMS) & set(params))
    if reserved:
        raise ValueError(f"{reserved} are set page by page; do not pass them in params")
    query = {**params, "f": params.get("f", "json")}
    if query["f"] not in ARCGIS_FORMATS:
        raise ValueError(f"f must be one of {sorted(ARCGIS_FORMATS)}, got {query['f']!r}")
    responses: list[_Response] = []
    pages: list[dict[str, Any]] = []
    offset = 0
    with _session_scope(session) as active:
        while True:
            if len(pages) == max_pages:
                raise DownloadError(
                    f"GET {query_url}: the service still reports more features after "
                    f"{max_pages} pages of up to {page_size}"
                )
            page_query = {
                **query,
                "resultOffset": str(offset),
                "resultRecordCount": str(page_size),
            }
            response, payload = _download_arcgis_page(
                query_url,
                page_query,
                max_attempts=max_attempts,
                backoff_seconds=backoff_seconds,
                timeout_seconds=timeout_seconds,
                session=active,
                sleep=sleep,
            )
            responses.append(response)
            pages.append(payload)
            if not _exceeded_transfer_limit(payload):
                break
            if not payload["features"]:
                raise DownloadError(
                    f"GET {response.url}: exceededTransferLimit is true but the page has no "
                    "features, so paging cannot advance"
                )
            offset += len(payload["features"])
    body = _join_arcgis_pages(pages, responses)
    try:
        validate(body)
    except Exception as exc:  # any validator complaint means an unusable file
        raise DownloadError(
            f"GET {responses[0].url}: the {len(pages)} joined page(s) are invalid: {exc}"
        ) from None
    features = sum(len(page["features"]) for page in pages)
    LOG.info("%s: %d features in %d page(s)", query_url, features, len(pages))
    return _write_with_record(body, Path(destination), responses)


def write_record(record: DownloadRecord, path: Path) -> None:
    """Write ``record`` as JSON (sorted keys, indent 2, trailing newline), atomically."""
    text = json.dumps(record.to_dict(), sort_keys=True, indent=2) + "\n"
    _write_atomically(text.encode("utf-8"), Path(path))


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks so large files need little memory."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _download(
    url: str,
    *,
    params: Mapping[str, str] | None,
    validate: Callable[[bytes], None],
    api_key: str | None,
    max_attempts: int,
    backoff_seconds: float,
    timeout_seconds: float,
    session: requests.Session,
    sleep: Callable[[float], None],
) -> _Response:
    """Run the request/retry loop and return the validated body, without touching disk."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    public_url = requests.Request("GET", url, params=dict(params or {})).prepare().url or url
    send_params = dict(params or {})
    if api_key:
        send_params["key"] = api_key
    problem = ""
    for attempt in range(1, max_attempts + 1):
        LOG.info("GET %s (attempt %d of %d)", public_url, attempt, max_attempts)
        retry_after: float | None = None
        try:
            with session.get(
                url, params=send_params, timeout=timeout_seconds, stream=True
            ) as response:
                body = response.content
        except _RETRYABLE_EXCEPTIONS as exc:
            problem = _describe_exception(exc, api_key)
        except requests.RequestException as exc:
            raise DownloadError(
                f"GET {public_url} failed: {_describe_exception(exc, api_key)}"
            ) from None
        else:
            status = response.status_code
            expected = _expected_length(response.headers)
            if status == 429 or status >= 500:
                problem = f"HTTP {status}"
                retry_after = _retry_after_seconds(response.headers)
            elif not 200 <= status < 300:
                raise DownloadError(
                    f"GET {public_url} failed with HTTP {status} (not retried): "
                    f"{_excerpt(body, 300, api_key)}"
                )
            elif expected is not None and len(body) < expected:
                problem = f"truncated body: {len(body)} of {expected} bytes"
            else:
                try:
                    # Validators quote the body; a copy without the key keeps it out of their
                    # messages (a genuine response never contains the key).
                    validate(_without_key(body, api_key))
                except Exception as exc:  # any validator complaint means an unusable body
                    raise DownloadError(
                        f"GET {public_url} returned an invalid body: {_redact(str(exc), api_key)}"
                    ) from None
                return _Response(
                    url=public_url,
                    body=body,
                    status=status,
                    last_modified=response.headers.get("Last-Modified"),
                    etag=response.headers.get("ETag"),
                    attempts=attempt,
                )
        if attempt < max_attempts:
            wait = backoff_seconds * 2 ** (attempt - 1)
            if retry_after is not None:
                wait = max(wait, retry_after)
            wait = min(wait, MAX_WAIT_SECONDS)
            LOG.warning("GET %s: %s; retrying in %.1f s", public_url, problem, wait)
            sleep(wait)
    LOG.error("GET %s: %s; giving up after %d attempts", public_url, problem, max_attempts)
    raise DownloadError(
        f"GET {public_url} failed after {max_attempts} attempts; last problem: {problem}"
    )


@contextlib.contextmanager
def _naming(area: str) -> Iterator[None]:
    """Put ``area`` (the state or county requested) in front of a DownloadError's message, so
    that a failure among many counties' requests says which county failed."""
    try:
        yield
    except DownloadError as error:
        raise DownloadError(f"{area}: {error}") from None


def _counties(response: _Response, state_fips: str) -> list[tuple[str, str]]:
    """The (county code, NAME) pairs of a county list response, sorted by code; a county
    outside the state or a malformed code is an error (it would make a wrong request)."""
    rows = _index_acs_chunk([], response, ("state", "county"))
    for state, county in rows:
        if state != state_fips or not (isinstance(county, str) and _COUNTY_FIPS.fullmatch(county)):
            raise DownloadError(
                f"GET {response.url}: ({state!r}, {county!r}) is not a county code of state "
                f"{state_fips}"
            )
    return sorted((county, row[0]) for (_, county), row in rows.items())


def _merge_acs_chunks(
    chunks: list[list[str]],
    areas: Sequence[tuple[str, Sequence[_Response]]],
    geo_columns: Sequence[str],
) -> bytes:
    """Join each area's per-chunk API tables on their geography columns, then stack the areas
    in order into one API-shaped table. ``areas`` pairs what was requested (the state, or
    one county) with its responses, one per chunk."""
    rows: dict[tuple[str, ...], list[Any]] = {}
    owners: dict[tuple[str, ...], str] = {}
    for area, responses in areas:
        with _naming(area):
            joined = _join_acs_chunks(chunks, responses, geo_columns)
        for key in joined:
            if key in owners:
                raise DownloadError(f"{area}: geography {key} was also returned for {owners[key]}")
            owners[key] = area
        rows.update(joined)
    header = ["NAME", *(variable for chunk in chunks for variable in chunk), *geo_columns]
    table = [header, *(row + list(key) for key, row in rows.items())]
    lines = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in table)
    return ("[" + ",\n".join(lines) + "]").encode("utf-8")


def _join_acs_chunks(
    chunks: list[list[str]], responses: Sequence[_Response], geo_columns: Sequence[str]
) -> dict[tuple[str, ...], list[Any]]:
    """One area's rows (``NAME`` and every chunk's values, keyed by their geography values,
    in the first chunk's order); the chunks must cover the same units under the same names."""
    parsed = [
        _index_acs_chunk(chunk, response, geo_columns)
        for chunk, response in zip(chunks, responses, strict=True)
    ]
    merged = {key: [row[0]] for key, row in parsed[0].items()}
    for rows, chunk, response in zip(parsed, chunks, responses, strict=True):
        if rows.keys() != merged.keys():
            raise DownloadError(
                f"GET {response.url}: the chunks cover different units "
                f"({len(rows.keys() ^ merged.keys())} units are not in every chunk)"
            )
        for key, row in rows.items():
            if row[0] != merged[key][0]:
                raise DownloadError(f"GET {response.url}: NAME differs across chunks for {key}")
            merged[key].extend(row[1 : 1 + len(chunk)])
    return merged


def _index_acs_chunk(
    chunk: list[str], response: _Response, geo_columns: Sequence[str]
) -> dict[tuple[str, ...], list[Any]]:
    """Return a response's rows keyed by their geography values, after checking that its
    header is ``NAME``, the ``chunk`` of variables asked for, then ``geo_columns``."""
    header, *rows = json.loads(response.body)
    requested = ["NAME", *chunk]
    if header != [*requested, *geo_columns]:
        raise DownloadError(
            f"GET {response.url}: header {header} is not the requested columns "
            f"followed by the geography columns {list(geo_columns)}"
        )
    indexed: dict[tuple[str, ...], list[Any]] = {}
    for row in rows:
        key = tuple(row[len(requested) :])
        if key in indexed:
            raise DownloadError(f"GET {response.url}: geography {key} appears twice")
        indexed[key] = row
    return indexed


def _accept_any_body(body: bytes) -> None:
    """No check inside the request loop: the caller inspects the body itself."""


def _download_arcgis_page(
    url: str,
    params: Mapping[str, str],
    *,
    max_attempts: int,
    backoff_seconds: float,
    timeout_seconds: float,
    session: requests.Session,
    sleep: Callable[[float], None],
) -> tuple[_Response, dict[str, Any]]:
    """Fetch one page; retry an HTTP-200 ArcGIS error whose code is 429 or 5xx-like.

    HTTP-level retries happen inside :func:`_download`; a retryable error body is retried here
    with the same backoff, sharing the ``max_attempts`` budget.
    """
    used = 0
    while True:
        response = _download(
            url,
            params=params,
            validate=_accept_any_body,
            api_key=None,
            max_attempts=max_attempts - used,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
            session=session,
            sleep=sleep,
        )
        used += response.attempts
        try:
            payload = _parse_arcgis(response.body)
        except _ArcGISServerError as exc:
            if used >= max_attempts:
                LOG.error("GET %s: %s; giving up after %d attempts", response.url, exc, used)
                raise DownloadError(
                    f"GET {response.url} failed after {used} attempts; last problem: {exc}"
                ) from None
            wait = min(backoff_seconds * 2 ** (used - 1), MAX_WAIT_SECONDS)
            LOG.warning("GET %s: %s; retrying in %.1f s", response.url, exc, wait)
            sleep(wait)
            continue
        except ValueError as exc:
            raise DownloadError(f"GET {response.url} returned an invalid body: {exc}") from None
        return dataclasses.replace(response, attempts=used), payload


def _exceeded_transfer_limit(payload: Mapping[str, Any]) -> bool:
    """ArcGIS puts the flag at the top level (Esri JSON) or in ``properties`` (GeoJSON)."""
    properties = payload.get("properties")
    nested = properties.get("exceededTransferLimit") if isinstance(properties, dict) else None
    return payload.get("exceededTransferLimit") is True or nested is True


def _join_arcgis_pages(pages: list[dict[str, Any]], responses: list[_Response]) -> bytes:
    """The first page with every page's features, in order, and no transfer-limit flag."""
    joined = dict(pages[0])
    for page, response in zip(pages[1:], responses[1:], strict=True):
        if page.get("fields") != joined.get("fields"):
            raise DownloadError(f"GET {response.url}: fields differ from the first page's")
    joined["features"] = [feature for page in pages for feature in page["features"]]
    joined.pop("exceededTransferLimit", None)
    if isinstance(joined.get("properties"), dict):
        joined["properties"] = {
            key: value
            for key, value in joined["properties"].items()
            if key != "exceededTransferLimit"
        }
    _check_distinct_features(joined, responses[0].url)
    return json.dumps(joined, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _check_distinct_features(joined: Mapping[str, Any], url: str) -> None:
    """Overlapping pages (an unstable order) repeat object IDs; refuse them."""
    id_field = joined.get("objectIdFieldName")
    seen: set[object] = set()
    for feature in joined["features"]:
        if not isinstance(feature, dict):
            continue
        attributes = feature.get("attributes")
        if id_field and isinstance(attributes, dict) and id_field in attributes:
            key = attributes[id_field]
        elif "id" in feature:
            key = feature["id"]
        else:
            continue
        if key in seen:
            raise DownloadError(
                f"GET {url}: feature {key!r} appears on two pages; order the query by a "
                "unique field (orderByFields) so that paging is stable"
            )
        seen.add(key)


def _write_with_record(
    body: bytes, destination: Path, responses: Sequence[_Response]
) -> DownloadRecord:
    """Write ``body`` atomically and describe it. Last-Modified and ETag are kept only when
    a single response produced the file."""
    _write_atomically(body, destination)
    single = responses[0] if len(responses) == 1 else None
    record = DownloadRecord(
        url=responses[0].url,
        destination=str(destination),
        bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        retrieved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        http_status=responses[-1].status,
        last_modified=single.last_modified if single else None,
        etag=single.etag if single else None,
        attempts=sum(response.attempts for response in responses),
        urls=tuple(response.url for response in responses),
        responses=tuple(
            {
                "url": response.url,
                "bytes": len(response.body),
                "sha256": hashlib.sha256(response.body).hexdigest(),
                "last_modified": response.last_modified,
                "etag": response.etag,
            }
            for response in responses
        ),
    )
    LOG.info("wrote %s: %d bytes, sha256 %s", destination, record.bytes, record.sha256)
    return record


def _write_atomically(data: bytes, destination: Path) -> None:
    """Write via a temp file in the same directory and ``os.replace`` it onto ``destination``.

    Readers (and Snakemake) see either the old file or the complete new one, never a partial
    one; the temp file is removed if anything fails.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp_path: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
        ) as handle:
            temp_path = Path(handle.name)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            # NamedTemporaryFile creates 0600 files; downloads are ordinary shared inputs.
            os.fchmod(handle.fileno(), 0o644)
        os.replace(temp_path, destination)
    except BaseException:
        if temp_path is not None:
            temp_path.unlink(missing_ok=True)
        raise


def _session_scope(
    session: requests.Session | None,
) -> contextlib.AbstractContextManager[requests.Session]:
    """Use the caller's session as is, or a new one that is closed afterwards."""
    if session is not None:
        return contextlib.nullcontext(session)
    new_session = requests.Session()
    new_session.headers["User-Agent"] = USER_AGENT
    return new_session


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Return a numeric ``Retry-After`` in seconds; HTTP-date values are ignored."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def _expected_length(headers: Mapping[str, str]) -> int | None:
    """Return Content-Length when it counts the decoded body (no Content-Encoding)."""
    length = headers.get("Content-Length", "")
    if headers.get("Content-Encoding", "identity").lower() != "identity" or not length.isdigit():
        return None
    return int(length)


def _describe_exception(exc: BaseException, api_key: str | None) -> str:
    # requests puts the full request URL, key included, into many exception messages.
    return f"{type(exc).__name__}: {_redact(str(exc), api_key)}"


def _excerpt(body: bytes, limit: int, api_key: str | None = None) -> str:
    """Return the start of ``body`` as one line of text, for error messages."""
    text = " ".join(body[: limit * 4].decode("utf-8", errors="replace").split())
    return _redact(text, api_key)[:limit]


def _redact(text: str, api_key: str | None) -> str:
    """Remove the API key (as a ``key=`` parameter and verbatim, also URL-encoded) from text."""
    text = _KEY_PARAM.sub(rf"\1{_REDACTED}", text)
    for form in _key_forms(api_key):
        text = text.replace(form, _REDACTED)
    return text


def _without_key(body: bytes, api_key: str | None) -> bytes:
    """Return ``body`` with every occurrence of the API key replaced (bytes untouched otherwise)."""
    for form in _key_forms(api_key):
        body = body.replace(form.encode("utf-8"), _REDACTED.encode("ascii"))
    return body


def _key_forms(api_key: str | None) -> set[str]:
    """The ways the key can appear in text: verbatim and URL-encoded."""
    if not api_key:
        return set()
    return {api_key, quote(api_key, safe=""), quote_plus(api_key)}


#: Keys of the ``download`` config section that ``fetch`` and ``fetch_acs_table`` take.
RETRY_OPTIONS = ("max_attempts", "backoff_seconds", "timeout_seconds")


def retry_options(download_config: Mapping[str, Any]) -> dict[str, Any]:
    """The retry and timeout keyword arguments from the ``download`` config section."""
    return {key: download_config[key] for key in RETRY_OPTIONS if key in download_config}
