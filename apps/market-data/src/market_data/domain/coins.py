"""Platform crypto symbols to CoinGecko coin ids (by base asset)."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_COINGECKO_IDS: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "SOL": "solana",
    "XRP": "ripple",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "LTC": "litecoin",
    "DOT": "polkadot",
    "AVAX": "avalanche-2",
    "LINK": "chainlink",
}


def resolve(symbol: str, ids: Mapping[str, str]) -> tuple[str, str] | None:
    """(coin id, vs currency) for ``BTC/USD`` or ``BTC`` (priced in USD), ``None`` if unknown."""
    base, _, quote = symbol.partition("/")
    coin = ids.get(base)
    return (coin, (quote or "USD").lower()) if coin else None
