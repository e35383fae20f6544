"""The decision request: a command asking for decisions on some symbols for one strategy.

It arrives as a CloudEvent (HTTP push or pub/sub) whose ``type`` is :data:`REQUEST_DECISION_TYPE`
and whose ``data`` is a :class:`RequestDecision`. Everything the decision may depend on that is
not market data — the position, the account and the risk limits — travels in the command, so the
service keeps no state of its own between requests.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, field_validator, model_validator

from trader_common.contracts import Contract, DecisionRiskLimits

REQUEST_DECISION_TYPE = "ai.active-trader.ai.request-decision.v1"
MAX_SYMBOLS_PER_REQUEST = 200

SYMBOL_PATTERN = r"^[A-Z0-9./:-]+$"
Symbol = Annotated[str, Field(min_length=1, max_length=32, pattern=SYMBOL_PATTERN)]


class Task(StrEnum):
    """What kind of thinking the request needs; routing picks models per task."""

    FAST = "fast"  # screening: cheap, quick
    DEEP = "deep"  # analysis: the better model, more context
    OVERNIGHT = "overnight"  # non-urgent: the Message Batches API where the route allows it


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError(f"{value.isoformat()} is outside years 1-9999 in UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]

# The limits travel in the request; the orchestrator validates them when a cycle is started, so
# the model is a shared contract.
RiskLimits = DecisionRiskLimits


class AccountSnapshot(Contract):
    """The account as the requester saw it at ``as_of``."""

    equity: Decimal = Field(gt=0)
    cash: Decimal
    buying_power: Decimal = Field(ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)


class PositionSnapshot(Contract):
    """The strategy's current position in one symbol."""

    qty: Decimal = Field(description="Signed: negative is short")
    avg_entry_price: Decimal = Field(default=Decimal("0"), ge=0)


class RequestDecision(Contract):
    """Decide what ``strategy_id`` should do about each of ``symbols`` as of ``as_of``."""

    request_id: UUID
    strategy_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_SYMBOLS_PER_REQUEST)
    as_of: UtcDatetime = Field(description="Decide with data up to this instant only (UTC)")
    task: Task = Task.FAST
    risk_limits: RiskLimits = Field(default_factory=RiskLimits)
    account: AccountSnapshot
    positions: dict[Symbol, PositionSnapshot] = Field(
        default_factory=dict, description="Current positions by symbol; absent means flat"
    )

    @field_validator("symbols")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted(symbol for symbol, n in Counter(value).items() if n > 1)
        if dupes:
            raise ValueError(f"symbols repeat: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _positions_are_asked(self) -> RequestDecision:
        extra = sorted(set(self.positions) - set(self.symbols))
        if extra:
            raise ValueError(f"positions given for symbols not asked about: {', '.join(extra)}")
        return self

    def position(self, symbol: str) -> PositionSnapshot:
        return self.positions.get(symbol) or PositionSnapshot(qty=Decimal("0"))
