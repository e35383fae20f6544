"""The decision a model proposes, its JSON schema (the tool the model must call), and output
validation: schema, symbol and risk limits. Whatever fails is rejected with every reason found;
only what passes may reach the trading engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from trader_common.contracts import DecisionAction, OrderType

from .context import DecisionContext

TOOL_NAME = "submit_decision"
TOOL_DESCRIPTION = (
    "Submit the trading decision for the one symbol you were asked about. Call exactly once."
)

DECISION_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "symbol": {"type": "string", "description": "The symbol you were asked about, exactly"},
        "action": {"type": "string", "enum": ["buy", "sell", "hold"]},
        "quantity": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "description": "Shares to buy or sell (positive). Give this or target_weight.",
        },
        "target_weight": {
            "type": ["number", "null"],
            "minimum": -1,
            "maximum": 1,
            "description": "Target position value / equity after the trade (negative is short)",
        },
        "order_type": {"type": "string", "enum": ["market", "limit"]},
        "limit_price": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "description": "Required for limit orders, absent for market orders",
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "horizon": {
            "type": "string",
            "minLength": 1,
            "maxLength": 32,
            "description": "Holding horizon, e.g. 1d, 5d, 2w",
        },
        "rationale": {"type": "string", "minLength": 1, "maxLength": 2000},
    },
    "required": ["symbol", "action", "order_type", "confidence", "horizon", "rationale"],
    "additionalProperties": False,
}


#: Sanity bounds of a number a model answers (beyond any risk limit): no order is for more than
#: this many shares or at a price above it, none is finer than ``MAX_DECIMAL_PLACES`` decimal
#: places, and none is written with more than ``MAX_DIGITS`` digits. Without them a finite but
#: absurd number ("1e999999") overflows the risk arithmetic, and a long one floods the reasons.
MAX_MODEL_NUMBER = 10**15
MAX_DECIMAL_PLACES = 18
MAX_DIGITS = 32


def _few_digits(value: Decimal) -> Decimal:
    if len(value.as_tuple().digits) > MAX_DIGITS:
        raise ValueError(f"a number written with more than {MAX_DIGITS} digits is not plausible")
    return value


ModelNumber = Annotated[
    Decimal,
    Field(allow_inf_nan=False, decimal_places=MAX_DECIMAL_PLACES),
    AfterValidator(_few_digits),
]


class DecisionProposal(BaseModel):
    """A model's decision as it came out of the tool call (the schema above, as a model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(min_length=1, max_length=32)
    action: DecisionAction
    quantity: ModelNumber | None = Field(default=None, gt=0, le=MAX_MODEL_NUMBER)
    target_weight: ModelNumber | None = Field(default=None, ge=-1, le=1)
    order_type: Literal["market", "limit"]
    limit_price: ModelNumber | None = Field(default=None, gt=0, le=MAX_MODEL_NUMBER)
    confidence: ModelNumber = Field(ge=0, le=1)
    horizon: str = Field(min_length=1, max_length=32)
    rationale: str = Field(min_length=1, max_length=2000)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Accepted (no reasons) or rejected (one reason per problem found)."""

    proposal: DecisionProposal | None
    reasons: tuple[str, ...]
    order_qty: Decimal | None = None
    resulting_qty: Decimal | None = None

    @property
    def accepted(self) -> bool:
        return self.proposal is not None and not self.reasons


MAX_SCHEMA_PROBLEMS = 20
_MAX_KEY_CHARS = 40
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,40}")


def _location_part(part: str | int) -> str:
    """A field name as a reason shows it: a key the model made up is quoted (escaped: no lone
    surrogate or control character reaches the audit trail) and shortened."""
    if isinstance(part, int) or _PLAIN_KEY.fullmatch(part):
        return str(part)
    shown = part if len(part) <= _MAX_KEY_CHARS else part[:_MAX_KEY_CHARS] + "…"
    return ascii(shown)


def _schema_problems(exc: ValidationError) -> list[str]:
    problems = [
        f"schema: {'.'.join(_location_part(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)
    ]
    if len(problems) > MAX_SCHEMA_PROBLEMS:
        more = len(problems) - MAX_SCHEMA_PROBLEMS
        problems = [*problems[:MAX_SCHEMA_PROBLEMS], f"schema: … and {more} more problems"]
    return problems


def parse_proposal(raw: object) -> tuple[DecisionProposal | None, list[str]]:
    """The proposal in ``raw`` (the tool input), or the schema problems that make it unusable."""
    if not isinstance(raw, dict):
        return None, [f"schema: the decision is not a JSON object (got {type(raw).__name__})"]
    try:
        proposal = DecisionProposal.model_validate(raw)
    except ValidationError as exc:
        return None, _schema_problems(exc)
    problems: list[str] = []
    trades = proposal.action in (DecisionAction.BUY, DecisionAction.SELL)
    if trades and proposal.quantity is None and proposal.target_weight is None:
        problems.append(f"schema: a {proposal.action} needs a quantity or a target_weight")
    if not trades and (
        proposal.quantity is not None
        or proposal.target_weight is not None
        or proposal.limit_price is not None
    ):
        problems.append("schema: a hold carries no quantity, target_weight or limit_price")
    if proposal.order_type == "limit" and proposal.limit_price is None and trades:
        problems.append("schema: a limit order needs a limit_price")
    if proposal.order_type == "market" and proposal.limit_price is not None:
        problems.append("schema: a market order takes no limit_price")
    return proposal, problems


def _implied_order(
    proposal: DecisionProposal, ctx: DecisionContext, price: Decimal
) -> tuple[Decimal, list[str]]:
    """The signed order quantity the proposal implies, and problems with its direction."""
    current = ctx.position.qty
    if proposal.quantity is not None:
        sign = 1 if proposal.action == DecisionAction.BUY else -1
        return proposal.quantity * sign, []
    assert proposal.target_weight is not None
    target_qty = proposal.target_weight * ctx.account.equity / price
    delta = target_qty - current
    if proposal.action == DecisionAction.BUY and delta <= 0:
        return delta, [
            f"target_weight {proposal.target_weight} implies selling {-delta:.4f} "
            f"(position {current}) but the action is buy"
        ]
    if proposal.action == DecisionAction.SELL and delta >= 0:
        return delta, [
            f"target_weight {proposal.target_weight} implies buying {delta:.4f} "
            f"(position {current}) but the action is sell"
        ]
    return delta, []


def risk_problems(
    proposal: DecisionProposal, ctx: DecisionContext
) -> tuple[list[str], Decimal | None, Decimal | None]:
    """Every risk limit the proposal breaks, with the order and resulting position it implies."""
    limits = ctx.limits
    problems: list[str] = []
    if OrderType(proposal.order_type) not in limits.allowed_order_types:
        allowed = ", ".join(sorted(str(t) for t in limits.allowed_order_types))
        problems.append(f"order type {proposal.order_type} is not allowed (allowed: {allowed})")
    if proposal.action == DecisionAction.HOLD:
        return problems, Decimal("0"), ctx.position.qty
    if proposal.confidence < limits.min_confidence:
        problems.append(
            f"confidence {proposal.confidence} is below the minimum {limits.min_confidence}"
        )
    if proposal.target_weight is not None:
        if abs(proposal.target_weight) > limits.max_position_weight:
            problems.append(
                f"target_weight {proposal.target_weight} exceeds the max position weight "
                f"{limits.max_position_weight}"
            )
        if proposal.target_weight < 0 and not limits.allow_short:
            problems.append(
                f"target_weight {proposal.target_weight} is short; shorting is not allowed"
            )
    price = ctx.reference_price
    if price is None or price <= 0:
        problems.append(f"no price for {ctx.symbol} at {ctx.as_of.isoformat()}: risk unverifiable")
        return problems, None, None
    delta, direction = _implied_order(proposal, ctx, price)
    problems.extend(direction)
    resulting = ctx.position.qty + delta
    order_notional = abs(delta) * price
    if limits.max_order_qty is not None and abs(delta) > limits.max_order_qty:
        problems.append(
            f"order qty {abs(delta):.4f} exceeds the max order qty {limits.max_order_qty}"
        )
    if limits.max_order_notional is not None and order_notional > limits.max_order_notional:
        problems.append(
            f"order notional {order_notional:.2f} exceeds the max {limits.max_order_notional}"
        )
    weight = abs(resulting * price) / ctx.account.equity
    adds_risk = abs(resulting) > abs(ctx.position.qty) or resulting * ctx.position.qty < 0
    if weight > limits.max_position_weight and adds_risk:
        problems.append(
            f"resulting position weight {weight:.4f} exceeds the max {limits.max_position_weight}"
        )
    if resulting < 0 and delta < 0 and not limits.allow_short:  # covering a short is fine
        problems.append(
            f"sell of {abs(delta):.4f} would leave a short {resulting:.4f}; no shorting"
        )
    if delta > 0 and order_notional > ctx.account.buying_power:
        problems.append(
            f"buy notional {order_notional:.2f} exceeds buying power {ctx.account.buying_power}"
        )
    if proposal.limit_price is not None:
        deviation_bps = abs(proposal.limit_price - price) / price * 10_000
        if deviation_bps > limits.max_limit_deviation_bps:
            problems.append(
                f"limit price {proposal.limit_price} is {deviation_bps:.0f} bps from the reference "
                f"price {price} (max {limits.max_limit_deviation_bps} bps)"
            )
    return problems, delta, resulting


def validate_decision(raw: object, ctx: DecisionContext) -> Verdict:
    """Check a model's output against the schema, the symbol asked about and the risk limits."""
    proposal, problems = parse_proposal(raw)
    if proposal is None:
        return Verdict(None, tuple(problems))
    if proposal.symbol != ctx.symbol:
        problems.append(f"symbol {proposal.symbol!r} was not asked about (asked: {ctx.symbol})")
    if problems:  # a malformed decision is not worth a risk check
        return Verdict(proposal, tuple(problems))
    try:
        risk, delta, resulting = risk_problems(proposal, ctx)
    except ArithmeticError as exc:  # numbers of the request beyond Decimal's range
        return Verdict(
            proposal,
            (
                f"risk unverifiable: the risk arithmetic failed ({type(exc).__name__}) for the "
                f"price {ctx.reference_price}, equity {ctx.account.equity} and position "
                f"{ctx.position.qty}",
            ),
        )
    return Verdict(proposal, tuple(risk), delta, resulting)
