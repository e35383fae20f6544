"""The analytics domain's one error: input it cannot work with."""

from __future__ import annotations


class AnalyticsInputError(ValueError):
    """Input the analytics cannot work with. The message names what was wrong and where, so it
    can be shown to the user as is (CLI message, HTTP 422 detail)."""


class NoDataError(AnalyticsInputError):
    """Nothing to analyse: no points (or too few) in the requested range."""


class UnknownScopeError(NoDataError):
    """The read model has no such account, strategy or symbol (HTTP 404)."""
