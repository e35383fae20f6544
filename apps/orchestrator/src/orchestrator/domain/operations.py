"""Operational state of trading: running, paused or halted — globally and per strategy.

One explicit transition table. A strategy trades only when both the global state and its own
are RUNNING. Halted is sticky: only an operator's resume leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

GLOBAL_SCOPE = "global"


class OperationalState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"


class OperatorCommand(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    HALT = "halt"


TRANSITIONS: dict[tuple[OperationalState, OperatorCommand], OperationalState] = {
    (OperationalState.RUNNING, OperatorCommand.PAUSE): OperationalState.PAUSED,
    (OperationalState.RUNNING, OperatorCommand.HALT): OperationalState.HALTED,
    (OperationalState.PAUSED, OperatorCommand.RESUME): OperationalState.RUNNING,
    (OperationalState.PAUSED, OperatorCommand.HALT): OperationalState.HALTED,
    (OperationalState.HALTED, OperatorCommand.RESUME): OperationalState.RUNNING,
}


class TransitionRefusedError(ValueError):
    def __init__(self, scope: str, state: OperationalState, command: OperatorCommand) -> None:
        super().__init__(f"cannot {command.value} {scope}: it is {state.value}")
        self.scope = scope
        self.state = state
        self.command = command


@dataclass(frozen=True, slots=True)
class StateChange:
    scope: str
    previous: OperationalState
    current: OperationalState
    reason: str
    at: datetime


@dataclass
class Operations:
    """States by scope (``global`` or a strategy id); unknown scopes are RUNNING."""

    states: dict[str, OperationalState] = field(default_factory=dict)

    def state_of(self, scope: str) -> OperationalState:
        return self.states.get(scope, OperationalState.RUNNING)

    def apply(self, scope: str, command: OperatorCommand, reason: str, at: datetime) -> StateChange:
        if not reason.strip():
            raise ValueError("a reason is required to change the operational state")
        current = self.state_of(scope)
        target = TRANSITIONS.get((current, command))
        if target is None:
            raise TransitionRefusedError(scope, current, command)
        self.states[scope] = target
        return StateChange(scope, current, target, reason.strip(), at)

    def may_trade(self, strategy_id: str) -> bool:
        return (
            self.state_of(GLOBAL_SCOPE) is OperationalState.RUNNING
            and self.state_of(strategy_id) is OperationalState.RUNNING
        )

    def to_json(self) -> dict[str, str]:
        return {scope: state.value for scope, state in self.states.items()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Operations:
        return cls({scope: OperationalState(value) for scope, value in data.items()})
