"""Decision requests as CloudEvents over HTTP, binary or structured content mode, parsed with the
CloudEvents SDK (``cloudevents.core`` of the v2 SDK).

The SDK is imported by the first parse, not at startup: the process serves its health probes
before anything needs it (see docs/ai-decision.md, start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from trader_common.cloudevents import loads_json, utf8_safe

from ..domain.commands import REQUEST_DECISION_TYPE, RequestDecision


class CloudEventError(ValueError):
    """The message is not a readable CloudEvent of the expected type."""

    def __init__(self, message: str) -> None:
        super().__init__(utf8_safe(message))  # it may quote the sender's bytes back


class RequestInvalidError(ValueError):
    """The CloudEvent is fine but its data is not a valid decision request."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        problems = [{k: utf8_safe(v) for k, v in p.items()} for p in problems]
        super().__init__("; ".join(f"{p['field']}: {p['problem']}" for p in problems))
        self.problems = problems


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "<root>", "problem": err["msg"]}
        for err in exc.errors()
    ]


def parse_request(headers: Mapping[str, str], body: bytes) -> tuple[str, RequestDecision]:
    """The CloudEvent id and the decision request carried by an HTTP message.

    Binary mode when ``ce-*`` headers are present, structured otherwise (the SDK decides).
    Raises :class:`CloudEventError` or :class:`RequestInvalidError` with what was wrong.
    """
    from cloudevents.core.bindings.http import HTTPMessage, from_http
    from cloudevents.core.exceptions import BaseCloudEventException
    from cloudevents.core.formats.json import JSONFormat

    message = HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body)
    try:
        event = from_http(message, JSONFormat())
    except BaseCloudEventException as exc:
        raise CloudEventError(f"not a valid CloudEvent: {exc}") from None
    except (
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        UnicodeDecodeError,
        RecursionError,  # JSON nested too deeply for the parser
    ) as exc:
        raise CloudEventError(
            f"not a CloudEvent ({type(exc).__name__}: {str(exc)[:200]}); send a structured "
            "(application/cloudevents+json) or binary (ce-* headers) CloudEvent"
        ) from None
    event_type = event.get_type()
    if event_type != REQUEST_DECISION_TYPE:
        raise CloudEventError(
            f"unexpected CloudEvent type {event_type!r}; expected {REQUEST_DECISION_TYPE!r}"
        )
    data: Any = event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = loads_json(data)
        except ValueError:
            raise CloudEventError(f"CloudEvent {event.get_id()}: data is not JSON") from None
    if not isinstance(data, dict):
        raise CloudEventError(
            f"CloudEvent {event.get_id()}: data must be a JSON object, got {type(data).__name__}"
        )
    try:
        return str(event.get_id()), RequestDecision.model_validate(data)
    except ValidationError as exc:
        raise RequestInvalidError(_problems(exc)) from None
