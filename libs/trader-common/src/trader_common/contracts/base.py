"""Base types for every event the platform publishes.

An event is an immutable fact, named in the past tense, versioned, carrying its own id and two
timestamps: when it happened (``ts_event``) and when we recorded it (``ts_recorded``). On the wire
it travels as a CloudEvent 1.0 whose ``type`` names the event and its version, e.g.
``ai.active-trader.market.quote.v1``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

CLOUDEVENT_TYPE_PREFIX = "ai.active-trader"


class Topic(StrEnum):
    """The five pub/sub topics. The names are the broker's topic (or subject) names."""

    MARKET = "market.events"
    TRADE = "trade.events"
    DECISIONS = "ai.decisions"
    POSITIONS = "position.updates"
    SYSTEM = "system.events"


DEAD_LETTER_TOPIC = "deadletters"

# Commands, not events: decision requests for ai-decision when they come through pub/sub rather
# than pushed over HTTP (which is what wakes a scaled-to-zero ai-decision in a cluster).
DECISION_REQUESTS_TOPIC = "ai.decision-requests"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Frozen, strict-shape model: unknown fields are errors, so a typo never passes silently."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_timedelta="iso8601")


class Event(Contract):
    """Base of every published event.

    Subclasses set ``event_name`` (dotted, e.g. ``market.quote``), ``version``, ``topic`` and
    ``partition_field`` (the attribute whose value keys per-key ordering on the broker).
    """

    event_name: ClassVar[str]
    version: ClassVar[int] = 1
    topic: ClassVar[Topic]
    partition_field: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4, description="Unique id of this event")
    ts_event: AwareDatetime = Field(description="When the fact happened (UTC)")
    ts_recorded: AwareDatetime = Field(
        default_factory=utc_now, description="When this platform recorded it (UTC)"
    )

    @field_validator("ts_event", "ts_recorded")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            raise ValueError(f"{value.isoformat()} is outside years 1-9999 in UTC") from None

    @classmethod
    def cloud_event_type(cls) -> str:
        return f"{CLOUDEVENT_TYPE_PREFIX}.{cls.event_name}.v{cls.version}"

    def partition_key(self) -> str:
        return str(getattr(self, self.partition_field))

    def payload(self) -> dict[str, Any]:
        """JSON-ready data of the event (Decimals as strings, datetimes ISO 8601)."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data
