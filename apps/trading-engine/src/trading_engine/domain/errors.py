"""Errors the domain raises. Each message names what was wrong so a person can fix it."""

from __future__ import annotations


class TradingDomainError(Exception):
    """Base of every error the trading domain raises on purpose."""


class InvalidOrderError(TradingDomainError, ValueError):
    """An order request is malformed (missing or contradictory fields); nothing was recorded."""


class InvalidCommandError(TradingDomainError, ValueError):
    """A command other than an order request is malformed."""


class InvalidTransitionError(TradingDomainError):
    """An order cannot move from its current status to the requested one."""


class UnknownOrderError(TradingDomainError, LookupError):
    """No order has the given id or client order id."""


class ConfigurationError(TradingDomainError, ValueError):
    """Engine, account, asset or risk configuration is invalid."""
