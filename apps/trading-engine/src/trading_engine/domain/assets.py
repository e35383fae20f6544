"""Asset metadata the engine needs: class, calendar, fractional and short-sale permissions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .errors import ConfigurationError
from .numbers import FINE_PRICE_STEP, FRACTIONAL_QTY_STEP, ONE, ZERO

ALWAYS_OPEN = "24/7"
_SYMBOL = re.compile(r"^[A-Z0-9./:-]{1,32}$")
_EQUITY_TICK = Decimal("0.01")
_EQUITY_SUBDOLLAR_TICK = Decimal("0.0001")


class AssetClass(StrEnum):
    EQUITY = "us_equity"
    CRYPTO = "crypto"


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    asset_class: AssetClass = AssetClass.EQUITY
    calendar: str = "XNYS"
    fractionable: bool = False
    shortable: bool = False
    price_increment: Decimal | None = None  # None: Reg NMS ticks for equities, 1e-9 for crypto
    qty_increment: Decimal | None = None  # None: 1e-9 when fractionable, else whole units

    def __post_init__(self) -> None:
        if not _SYMBOL.match(self.symbol):
            raise ConfigurationError(
                f"asset symbol {self.symbol!r} must be 1-32 of A-Z, 0-9, '.', '/', ':' or '-'"
            )
        if self.asset_class is AssetClass.CRYPTO and self.calendar != ALWAYS_OPEN:
            raise ConfigurationError(
                f"{self.symbol}: crypto trades around the clock; its calendar must be "
                f"{ALWAYS_OPEN!r}, not {self.calendar!r}"
            )
        for name in ("price_increment", "qty_increment"):
            step = getattr(self, name)
            if step is not None and step <= ZERO:
                raise ConfigurationError(f"{self.symbol}: {name} must be positive, got {step}")

    @classmethod
    def equity(
        cls,
        symbol: str,
        *,
        fractionable: bool = True,
        shortable: bool = True,
        calendar: str = "XNYS",
    ) -> Asset:
        return cls(symbol, AssetClass.EQUITY, calendar, fractionable, shortable)

    @classmethod
    def crypto(cls, symbol: str, *, qty_increment: Decimal | None = None) -> Asset:
        return cls(symbol, AssetClass.CRYPTO, ALWAYS_OPEN, True, False, qty_increment=qty_increment)

    @property
    def around_the_clock(self) -> bool:
        return self.calendar == ALWAYS_OPEN

    @property
    def is_crypto(self) -> bool:
        return self.asset_class is AssetClass.CRYPTO

    @property
    def qty_step(self) -> Decimal:
        if self.qty_increment is not None:
            return self.qty_increment
        return FRACTIONAL_QTY_STEP if self.fractionable else ONE

    def tick(self, price: Decimal) -> Decimal:
        """Smallest price increment at ``price``."""
        if self.price_increment is not None:
            return self.price_increment
        if self.is_crypto:
            return FINE_PRICE_STEP
        return _EQUITY_TICK if price >= ONE else _EQUITY_SUBDOLLAR_TICK


class AssetRegistry:
    """The assets the engine may trade, configured by the caller."""

    def __init__(self, assets: Iterable[Asset] = ()) -> None:
        self._assets: dict[str, Asset] = {}
        for asset in assets:
            self.add(asset)

    def add(self, asset: Asset) -> None:
        self._assets[asset.symbol] = asset

    def get(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._assets

    def __iter__(self) -> Iterator[Asset]:
        return iter(self._assets.values())

    def __len__(self) -> int:
        return len(self._assets)
