"""The one transition table of the order lifecycle (Alpaca's status names)."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest

from trader_common.contracts.trade import OrderSide, OrderStatus
from trading_engine.domain.errors import InvalidTransitionError
from trading_engine.domain.orders import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    can_transition,
    check_transition,
)

S = OrderStatus
ORDER = UUID(int=7)
ALLOWED = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
REFUSED = sorted(
    (a, b) for a, b in itertools.product(OrderStatus, OrderStatus) if b not in TRANSITIONS[a]
)


def test_transition_table_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


def test_transition_table_terminal_statuses_are_alpacas() -> None:
    assert {S.FILLED, S.CANCELED, S.EXPIRED, S.REPLACED, S.REJECTED} == TERMINAL_STATUSES


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: s.value)
def test_transition_listed_pair_is_allowed(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(ORDER, current, target)
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: s.value)
def test_transition_unlisted_pair_raises_naming_both_states(
    current: OrderStatus, target: OrderStatus
) -> None:
    with pytest.raises(InvalidTransitionError) as raised:
        check_transition(ORDER, current, target)
    message = str(raised.value)
    assert f"from {current.value} to {target.value}" in message
    assert str(ORDER) in message
    assert not can_transition(current, target)


def test_transition_paper_lifecycle_paths_are_all_allowed() -> None:
    paths = [
        [S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED],
        [S.PENDING_NEW, S.ACCEPTED, S.FILLED],
        [S.PENDING_NEW, S.HELD, S.NEW, S.CANCELED],
        [S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.CANCELED],
        [S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.REPLACED],
        [S.PENDING_NEW, S.NEW, S.EXPIRED],
        [S.PENDING_NEW, S.REJECTED],
        [S.PENDING_NEW, S.NEW, S.PENDING_CANCEL, S.FILLED],
        [S.PENDING_NEW, S.NEW, S.PENDING_REPLACE, S.REPLACED],
        [S.PENDING_NEW, S.NEW, S.DONE_FOR_DAY, S.NEW, S.FILLED],
    ]
    for path in paths:
        for current, target in itertools.pairwise(path):
            check_transition(ORDER, current, target)


def test_transition_engine_cancel_of_filled_order_names_both_states(harness) -> None:
    harness.quote("AAPL", "100.00", "100.10")
    order_id = harness.buy("5").order_id
    with pytest.raises(InvalidTransitionError, match="from filled to canceled"):
        harness.cancel(order_id)


def test_transition_engine_replace_of_canceled_order_names_both_states(harness) -> None:
    order_id = harness.limit(OrderSide.BUY, "5", "90.00").order_id
    harness.cancel(order_id)
    with pytest.raises(InvalidTransitionError, match="from canceled to replaced"):
        harness.replace(order_id, limit_price="91.00")
