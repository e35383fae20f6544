from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.domain.operations import (
    GLOBAL_SCOPE,
    TRANSITIONS,
    OperationalState,
    Operations,
    OperatorCommand,
    TransitionRefusedError,
)
from orchestrator.domain.schedule import StrategySchedule, cadence_slot, due_cycles

AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("state", list(OperationalState))
@pytest.mark.parametrize("command", list(OperatorCommand))
def test_operations_every_state_and_command_follows_the_table(
    state: OperationalState, command: OperatorCommand
) -> None:
    ops = Operations({"s1": state})
    expected = TRANSITIONS.get((state, command))
    if expected is None:
        with pytest.raises(
            TransitionRefusedError, match=f"cannot {command.value} s1: it is {state.value}"
        ):
            ops.apply("s1", command, "operator", AT)
        assert ops.state_of("s1") is state
    else:
        change = ops.apply("s1", command, "operator", AT)
        assert (change.previous, change.current) == (state, expected)
        assert ops.state_of("s1") is expected


def test_operations_global_halt_stops_every_strategy_until_resumed() -> None:
    ops = Operations()
    assert ops.may_trade("s1")
    ops.apply(GLOBAL_SCOPE, OperatorCommand.HALT, "kill switch", AT)
    assert not ops.may_trade("s1")
    ops.apply(GLOBAL_SCOPE, OperatorCommand.RESUME, "all clear", AT)
    assert ops.may_trade("s1")


def test_operations_change_without_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="reason is required"):
        Operations().apply("s1", OperatorCommand.PAUSE, "  ", AT)


def test_operations_json_round_trip() -> None:
    ops = Operations({"s1": OperationalState.PAUSED, GLOBAL_SCOPE: OperationalState.HALTED})
    assert Operations.from_json(ops.to_json()) == ops


def schedule(strategy_id: str = "s1", calendar: str = "XNYS") -> StrategySchedule:
    return StrategySchedule(strategy_id, ("AAPL",), timedelta(minutes=5), calendar)


def test_due_cycles_open_market_new_slot_is_due_once() -> None:
    strategies = [schedule()]
    due = due_cycles(AT, strategies, {}, {"XNYS": True}, {"s1": True}, set())
    assert [d.strategy_id for d in due] == ["s1"]
    again = due_cycles(
        AT + timedelta(minutes=1),
        strategies,
        {"s1": due[0].slot},
        {"XNYS": True},
        {"s1": True},
        set(),
    )
    assert again == []
    later = due_cycles(
        AT + timedelta(minutes=5),
        strategies,
        {"s1": due[0].slot},
        {"XNYS": True},
        {"s1": True},
        set(),
    )
    assert len(later) == 1


@pytest.mark.parametrize(
    ("market_open", "may_trade", "running"),
    [
        ({"XNYS": False}, {"s1": True}, set()),
        ({"XNYS": True}, {"s1": False}, set()),
        ({"XNYS": True}, {"s1": True}, {"s1"}),
    ],
)
def test_due_cycles_closed_paused_or_busy_strategy_is_not_due(
    market_open: dict[str, bool], may_trade: dict[str, bool], running: set[str]
) -> None:
    assert due_cycles(AT, [schedule()], {}, market_open, may_trade, running) == []


def test_due_cycles_crypto_is_always_open() -> None:
    due = due_cycles(AT, [schedule(calendar="24/7")], {}, {}, {"s1": True}, set())
    assert len(due) == 1


def test_cadence_slot_aligns_to_cadence() -> None:
    assert cadence_slot(datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC), timedelta(minutes=5)) == (
        datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    )


def test_strategy_schedule_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="cadence must be positive"):
        StrategySchedule("s", ("A",), timedelta(0), "XNYS")
    with pytest.raises(ValueError, match="at least one symbol"):
        StrategySchedule("s", (), timedelta(minutes=1), "XNYS")
