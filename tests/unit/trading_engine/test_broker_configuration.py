"""broker=alpaca needs its keys from the secret store: a missing one is a clear error."""

from __future__ import annotations

import pytest

from trading_engine.broker_routing import BrokerConfigurationError, read_alpaca_keys
from trading_engine.settings import TradingEngineSettings


class Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    async def get(self, name: str) -> str | None:
        return self.values.get(name) or None


async def test_read_alpaca_keys_both_set_returns_them() -> None:
    keys = await read_alpaca_keys(
        Secrets({"alpaca:api-key": "k", "alpaca:secret-key": "s"}), "secretstore"
    )
    assert keys == ("k", "s")


async def test_read_alpaca_keys_secret_missing_names_it_and_the_fix() -> None:
    with pytest.raises(BrokerConfigurationError) as missing:
        await read_alpaca_keys(Secrets({"alpaca:api-key": "k"}), "vault")
    text = str(missing.value)
    assert "'vault' has no alpaca:secret-key" in text
    assert "TRADING_ENGINE_BROKER=paper" in text


def test_settings_broker_defaults_to_paper_and_reads_alpaca(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert TradingEngineSettings().broker == "paper"
    monkeypatch.setenv("TRADING_ENGINE_BROKER", "alpaca")
    assert TradingEngineSettings().broker == "alpaca"
