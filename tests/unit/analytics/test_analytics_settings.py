"""Analytics settings: the database DSN and its fallback, starting cash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.settings import AnalyticsSettings
from trader_common.settings import SettingsError, load_settings


def test_settings_dsn_falls_back_to_the_launchers_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANALYTICS_DATABASE_DSN", raising=False)
    monkeypatch.setenv("TRADER_POSTGRES_DSN", "host=db port=5432")
    assert load_settings(AnalyticsSettings).dsn() == "host=db port=5432"
    monkeypatch.setenv("ANALYTICS_DATABASE_DSN", "host=own")
    assert load_settings(AnalyticsSettings).dsn() == "host=own"


def test_settings_without_a_database_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANALYTICS_DATABASE_DSN", raising=False)
    monkeypatch.delenv("TRADER_POSTGRES_DSN", raising=False)
    with pytest.raises(SettingsError, match="invalid setting ANALYTICS_DATABASE_DSN") as failure:
        load_settings(AnalyticsSettings)
    assert "TRADER_POSTGRES_DSN" in str(failure.value)


def test_settings_starting_cash_per_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_DATABASE_DSN", "host=x")
    monkeypatch.setenv("ANALYTICS_STARTING_CASH", "25000")
    monkeypatch.setenv("ANALYTICS_STARTING_CASH_BY_ACCOUNT", '{"big": "1000000"}')
    settings = load_settings(AnalyticsSettings)
    assert settings.starting_cash_of("paper") == Decimal(25_000)
    assert settings.starting_cash_of("big") == Decimal(1_000_000)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ANALYTICS_STARTING_CASH", "-1"),
        ("ANALYTICS_STARTING_CASH_BY_ACCOUNT", '{"x": "-5"}'),
        ("ANALYTICS_DATABASE_POOL_SIZE", "0"),
        ("ANALYTICS_DEFAULT_ACCOUNT_ID", ""),
    ],
)
def test_settings_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("ANALYTICS_DATABASE_DSN", "host=x")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"invalid setting {variable}"):
        load_settings(AnalyticsSettings)
