"""Hypothesis strategies and checks shared by the apps' HTTP fuzz tests
(``tests/unit/<app>/test_api_fuzz.py``).

The rule they check (docs/adr/0004-dead-letters-and-delivery-contract.md and the project rules):
bad input anywhere — bodies, query strings, path segments, pub/sub deliveries — gets a 4xx whose
body says what was wrong, or for a delivery the documented Dapr answer (``DROP`` with the reason
logged), never a 500; and the app still serves a valid request afterwards.

The strategies build *near-valid* input from a valid example (one to three mutations at any
depth: a value replaced by junk, a key dropped, an extra key, a value wrapped in a list), raw
bytes that are not JSON at all, and awkward scalars: numbers that are not finite or do not fit
("NaN", "1e999999"), times at the edges of the calendar, huge and unusual text.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from starlette.routing import Route

from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.cloudevents import cloud_event_json
from trader_common.contracts import Event

#: Hypothesis settings of the fuzz tests: few examples each (a file runs in about 15 s), no
#: deadline (an ASGI round trip now and then takes a while), module-scoped apps. ``FUZZ_MORE``
#: for the richest inputs (request bodies, deliveries, query strings with many parameters).
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FUZZ_MORE = settings(FUZZ, max_examples=120)

# --- awkward scalars ------------------------------------------------------------------------------

NASTY_NUMBERS: tuple[str, ...] = (
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "1E+400",
    "0",
    "-0",
    "-1",
    "0.0000000000000000000000000001",
    "99999999999999999999999999999999999999999",
    "1_000",
    " 1 ",
    "0x1A",
    "１２３",  # full-width digits: Decimal() reads them
    "",
    "abc",
)

NASTY_TIMES: tuple[str, ...] = (
    "0001-01-01T00:00:00+01:00",  # to UTC: before year 1
    "9999-12-31T23:59:59-01:00",  # to UTC: after year 9999
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "1677-09-21T00:12:43Z",  # pandas' first nanosecond timestamp and beyond
    "2262-04-11T23:47:17Z",
    "2026-01-05T10:00:00",  # naive
    "2026-02-30T00:00:00Z",
    "2026-01-05T10:00:00+24:00",
    "2026-01-05T10:00:00+23:59",
    "2026-01-05",
    "99999-01-01T00:00:00Z",
    "1e999999",
    "now",
    "",
)

NASTY_TEXT: tuple[str, ...] = (
    "",
    " ",
    "   \t",
    "\x00",
    "\ud800",  # a lone surrogate: cannot be encoded as UTF-8
    "A" * 5_000,
    "💥",
    "AAPL\n",
    "aapl",
    "BTC/USD",
    "..",
    ".",
    "%00",
    "null",
    "[]",
    "{}",
    "'; DROP TABLE x;--",
    "||",
)

NASTY_NUMBER_VALUES: tuple[Any, ...] = (
    float("nan"),
    float("inf"),
    -float("inf"),
    10**400,
    -(10**400),
    1e308,
    -0.0,
    True,
    False,
)


@cache
def nasty_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.sampled_from(NASTY_TIMES),
        st.sampled_from(NASTY_TEXT),
        st.sampled_from(NASTY_NUMBER_VALUES),
        st.none(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
    )


@cache
def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (Python's reading of it: NaN and Infinity included), junk scalars often."""
    return st.recursive(
        nasty_scalars(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.one_of(st.text(max_size=8), st.sampled_from(NASTY_TEXT)), children, max_size=4
            )
        ),
        max_leaves=max_leaves,
    )


@cache
def times() -> st.SearchStrategy[str]:
    """RFC 3339-ish times: the awkward ones, times in the first and last week of the calendar
    with any offset (some cannot be converted to UTC, some cannot be moved by a week), and aware
    or naive times anywhere in years 1-9999."""
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
    edges = st.one_of(
        st.datetimes(max_value=datetime(1, 1, 8)),  # noqa: DTZ001 (naive: zones come next)
        st.datetimes(min_value=datetime(9999, 12, 24)),  # noqa: DTZ001
    )
    aware = st.builds(
        lambda at, tz: at.replace(tzinfo=tz).isoformat(), edges | st.datetimes(), offsets
    )
    return st.one_of(
        st.sampled_from(NASTY_TIMES),
        st.sampled_from(NASTY_TIMES),
        aware,
        aware,
        st.datetimes().map(datetime.isoformat),
    )


@cache
def numbers() -> st.SearchStrategy[str]:
    """Numbers as text: not finite, too big, too small, negative, not numbers at all."""
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.integers().map(str),
    )


# --- near-valid structures ----------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _looks_like_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text


def _looks_like_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def junk_like(original: Any) -> st.SearchStrategy[Any]:
    """Junk of the same kind as ``original`` (a time for a time, a number for a number) half
    the time, any JSON junk otherwise."""
    if isinstance(original, str) and _looks_like_time(original):
        return _junk_of_kind("time")
    if isinstance(original, str) and _looks_like_number(original):
        return _junk_of_kind("number")
    if isinstance(original, bool):
        return _junk_of_kind("bool")
    if isinstance(original, int | float):
        return _junk_of_kind("json number")
    if isinstance(original, str):
        return _junk_of_kind("text")
    return json_values()


@cache
def _junk_of_kind(kind: str) -> st.SearchStrategy[Any]:
    typed: st.SearchStrategy[Any] = {
        "time": times(),
        "number": numbers(),
        "bool": st.sampled_from((None, 0, 1, "true", "yes", [], {})),
        "json number": st.one_of(st.sampled_from(NASTY_NUMBER_VALUES), numbers(), st.integers()),
        "text": texts(),
    }[kind]
    return st.one_of(typed, json_values())


@st.composite
def near_valid(draw: st.DrawFn, valid: Any, max_mutations: int = 3) -> Any:
    """``valid`` (a JSON-ready value) with one to ``max_mutations`` mutations anywhere in it."""
    value = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(list(_paths(value))))
        operation = draw(
            st.sampled_from(("replace", "replace", "replace", "delete", "extra", "wrap"))
        )
        target = _get(value, path)
        if not path:
            value = draw(json_values()) if operation in ("replace", "delete") else [value]
            continue
        parent = _get(value, path[:-1])
        last = path[-1]
        if operation == "replace":
            parent[last] = draw(junk_like(target))
        elif operation == "delete":
            del parent[last]
        elif operation == "wrap":
            parent[last] = [target]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values())
        else:
            parent.append(draw(json_values()))
    return value


def dumps(value: Any) -> bytes:
    """JSON bytes as a careless client writes them: NaN and Infinity as bare words."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def json_bodies(draw: st.DrawFn, valid: Any) -> bytes:
    """Bodies for a route that takes ``valid``: near-valid JSON, any JSON, or not JSON at all."""
    kind = draw(st.sampled_from(("near", "near", "near", "any", "bytes", "broken")))
    if kind == "near":
        value = draw(near_valid(valid))
        if draw(st.booleans()):
            return dumps(value)
        # non-ASCII written raw; a lone surrogate makes the bytes invalid UTF-8
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode(
            "utf-8", errors="surrogatepass"
        )
    if kind == "any":
        return dumps(draw(json_values()))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    text = dumps(valid)
    return draw(
        st.sampled_from(
            (
                b"",
                b"{",
                b"\xff\xfe{}",
                b"null",
                b"[]",
                b"NaN",
                b"1e999999",
                b'"' + b"A" * 200_000 + b'"',
                b"[" * 5000 + b"]" * 5000,
                text[: len(text) // 2],
                text + b"garbage",
            )
        )
    )


# --- URLs ---------------------------------------------------------------------------------------


@cache
def path_segments() -> st.SearchStrategy[str]:
    """One path segment, percent-encoded as a client would send it (or not at all)."""
    raw = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))
    encoded = raw.map(lambda text: quote(text, safe="", errors="surrogatepass"))
    return st.one_of(
        encoded,
        raw.map(lambda text: quote(text, safe="/:", errors="surrogatepass")),
        st.sampled_from(("%2E", "%2E%2E", "%2F", "%00", "%ZZ", "%", "%C3%28", "%ED%A0%80")),
    )


@cache
def texts() -> st.SearchStrategy[str]:
    """Awkward text: blank (of every kind of space), control characters, huge, any."""
    blank = st.text(st.sampled_from(" \t\n\r\u3000\xa0\u2028"), min_size=1, max_size=5)
    return st.one_of(st.sampled_from(NASTY_TEXT), blank, st.text(max_size=40))


def _encode(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(
        quote(k, safe="", errors="surrogatepass") + "=" + quote(v, safe="", errors="surrogatepass")
        for k, v in pairs
    )


@st.composite
def query_strings(
    draw: st.DrawFn, params: Mapping[str, st.SearchStrategy[str]] | None = None
) -> str:
    """A raw query string: each of ``params`` absent, junk of its kind or any junk (sometimes
    repeated), plus now and then a stranger; or a malformed query string."""
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.sampled_from(("", "&&&", "=", "a=1&a=2", "%", "%ZZ=1", "limit", "x=" + "A" * 8_000))
        )
    pairs: list[tuple[str, str]] = []
    junk = st.one_of(texts(), numbers(), times())
    for name, values in (params or {}).items():
        for _ in range(draw(st.sampled_from((0, 0, 1, 1, 1, 2)))):
            pairs.append((name, draw(st.one_of(values, values, values, values, junk))))
    if draw(st.integers(0, 4)) == 0:
        pairs.append((draw(st.text(max_size=10)), draw(texts())))
    return _encode(draw(st.permutations(pairs)))


# --- checks -------------------------------------------------------------------------------------


def problem_text(body: Any) -> str:
    """The human-readable problem in an error body: ``detail`` (text) or each ``problem``."""
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    if isinstance(detail, str) and detail.strip():
        return detail
    problems = body.get("problems")
    if isinstance(problems, list) and problems:
        texts = [str(p.get("problem", "")).strip() for p in problems if isinstance(p, dict)]
        if len(texts) == len(problems) and all(texts):
            return "; ".join(texts)
    return ""


def assert_clear_answer(response: Any, what: str, *, allowed_5xx: tuple[int, ...] = ()) -> None:
    """No 5xx (but those in ``allowed_5xx``, e.g. /readyz without a sidecar); a 4xx body says
    what was wrong."""
    status = response.status_code
    assert status < 500 or status in allowed_5xx, f"{what}: HTTP {status} {response.text[:500]!r}"
    if status >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        assert problem_text(body), (
            f"{what}: HTTP {status} without a detail: {response.text[:500]!r}"
        )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record emitted meanwhile (the apps log a dropped delivery's reason)."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


DELIVERY_ANSWERS = frozenset({"SUCCESS", "RETRY", "DROP"})


def assert_delivery_answer(response: Any, records: Sequence[logging.LogRecord], what: str) -> str:
    """A pub/sub delivery is answered 200 with SUCCESS, RETRY or DROP (ADR 4); a DROP is logged
    with its reason. Returns the answer."""
    assert response.status_code == 200, (
        f"{what}: HTTP {response.status_code} {response.text[:500]!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and body.get("status") in DELIVERY_ANSWERS, f"{what}: {body!r}"
    answer: str = body["status"]
    if answer == "DROP":
        reasons = [
            str(getattr(r, "reason", "")).strip() for r in records if r.levelno >= logging.WARNING
        ]
        assert any(reasons), f"{what}: DROP without a logged reason"
    return answer


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, hidden ones (delivery routes) included."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Sequence[Any], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI keeps an included router as one entry
                walk(included.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute | Route):
                found.update(
                    (method, prefix + route.path)
                    for method in route.methods or ()
                    if method != "HEAD"
                )

    walk(app.routes, "")
    return found


def openapi_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI document."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


# --- ports as strict as the Dapr adapters ------------------------------------------------------


class JsonStateStore(InMemoryStateStore):
    """In-memory state that takes only what the Dapr state store adapter can send: its values
    go through JSON as httpx writes a request body (UTF-8, no NaN), so a value the sidecar
    would never see fails here as it would there."""

    async def save(self, key: str, value: Any, **options: Any) -> None:
        sent = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        await super().save(key, json.loads(sent), **options)


class JsonEventBus(InMemoryEventBus):
    """An in-memory bus that encodes each event as the Dapr publisher does."""

    async def publish(self, event: Event) -> None:
        cloud_event_json(event, "/fuzz")
        await super().publish(event)


# --- pub/sub deliveries -------------------------------------------------------------------------


def dapr_envelope(cloud_event: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """A CloudEvent as daprd delivers it to a subscriber (with its extension attributes)."""
    return {
        **cloud_event,
        "topic": topic,
        "pubsubname": "pubsub",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "",
    }


@st.composite
def deliveries(draw: st.DrawFn, envelopes: Sequence[Mapping[str, Any]]) -> bytes:
    """What a subscriber may be handed: one of ``envelopes`` (valid deliveries) mutated at any
    depth, with its data re-encoded as a JSON string or base64, or anything else at all."""
    envelope = dict(draw(st.sampled_from(list(envelopes))))
    form = draw(st.sampled_from(("near", "near", "near", "string", "base64", "body")))
    if form in ("string", "base64"):
        data = (
            envelope.pop("data")
            if "data" in envelope
            else json.loads(base64.b64decode(envelope.pop("data_base64")))
        )
    if form == "string":
        envelope["data"] = json.dumps(draw(near_valid(data)), allow_nan=True)
        return dumps(envelope)
    if form == "base64":
        raw = dumps(draw(near_valid(data)))
        envelope["data_base64"] = draw(
            st.sampled_from((base64.b64encode(raw).decode(), raw.decode(errors="replace"), 42))
        )
        return dumps(envelope)
    if form == "body":
        return draw(json_bodies(envelope))
    return dumps(draw(near_valid(envelope)))
