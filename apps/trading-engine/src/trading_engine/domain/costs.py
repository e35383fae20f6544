"""Pluggable trading costs: slippage models and fee models. Pure strategies: given a fill,
they return a price or an amount; the exchange keeps every fill inside the market."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from trader_common.contracts.trade import Liquidity, OrderSide

from .assets import Asset, AssetClass
from .errors import ConfigurationError
from .numbers import BPS, ONE, ZERO


class SlippageModel(Protocol):
    def adjust(
        self, *, side: OrderSide, price: Decimal, qty: Decimal, volume: Decimal | None
    ) -> Decimal:
        """The price after slippage, moved against the order from ``price``. The exchange rounds
        it to the tick and clamps it to the market that produced the fill."""
        ...


class FeeModel(Protocol):
    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        """The fee of one fill (not yet rounded; the engine rounds it to the cent)."""
        ...


def _against(side: OrderSide, price: Decimal, fraction: Decimal) -> Decimal:
    return price * (ONE + fraction) if side is OrderSide.BUY else price * (ONE - fraction)


def _non_negative(name: str, value: Decimal) -> None:
    if value < ZERO:
        raise ConfigurationError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True, slots=True)
class NoSlippage:
    def adjust(
        self, *, side: OrderSide, price: Decimal, qty: Decimal, volume: Decimal | None
    ) -> Decimal:
        return price


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    """A fixed cost in basis points of the price, against the order."""

    bps: Decimal

    def __post_init__(self) -> None:
        _non_negative("slippage bps", self.bps)

    def adjust(
        self, *, side: OrderSide, price: Decimal, qty: Decimal, volume: Decimal | None
    ) -> Decimal:
        return _against(side, price, self.bps / BPS)


@dataclass(frozen=True, slots=True)
class VolumeShareSlippage:
    """Market impact growing with the square of the order's share of the volume (as zipline's
    VolumeShareSlippage): impact = price_impact * (qty / volume)^2. No volume, no impact."""

    price_impact: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        _non_negative("price_impact", self.price_impact)

    def adjust(
        self, *, side: OrderSide, price: Decimal, qty: Decimal, volume: Decimal | None
    ) -> Decimal:
        if volume is None or volume <= ZERO:
            return price
        share = min(ONE, qty / volume)
        return _against(side, price, self.price_impact * share * share)


@dataclass(frozen=True, slots=True)
class NoFees:
    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PerShareFee:
    """A rate per share (unit), with an optional minimum per fill and a cap as a share of the
    fill's value (as IBKR's fixed pricing)."""

    per_share: Decimal
    minimum: Decimal = ZERO
    max_fraction_of_value: Decimal | None = None

    def __post_init__(self) -> None:
        _non_negative("per_share", self.per_share)
        _non_negative("minimum", self.minimum)

    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        amount = max(self.minimum, qty * self.per_share)
        if self.max_fraction_of_value is not None:
            amount = min(amount, gross * self.max_fraction_of_value)
        return amount


@dataclass(frozen=True, slots=True)
class BpsFee:
    """Basis points of the fill's value; ``sells_only`` models regulatory fees on sales."""

    bps: Decimal
    sells_only: bool = False

    def __post_init__(self) -> None:
        _non_negative("fee bps", self.bps)

    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        if self.sells_only and side is OrderSide.BUY:
            return ZERO
        return gross * self.bps / BPS


@dataclass(frozen=True, slots=True)
class MakerTakerFee:
    """Crypto-style fees: a lower rate for resting orders that made liquidity."""

    maker_bps: Decimal
    taker_bps: Decimal

    def __post_init__(self) -> None:
        _non_negative("maker_bps", self.maker_bps)
        _non_negative("taker_bps", self.taker_bps)

    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        bps = self.maker_bps if liquidity is Liquidity.MAKER else self.taker_bps
        return gross * bps / BPS


@dataclass(frozen=True, slots=True)
class CompositeFee:
    parts: tuple[FeeModel, ...]

    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        return sum(
            (
                part.fee(
                    asset=asset, side=side, qty=qty, price=price, gross=gross, liquidity=liquidity
                )
                for part in self.parts
            ),
            ZERO,
        )


@dataclass(frozen=True, slots=True)
class FeesByAssetClass:
    """Different schedules for equities and crypto (e.g. commission-free equities, maker/taker
    crypto)."""

    equity: FeeModel
    crypto: FeeModel

    def fee(
        self,
        *,
        asset: Asset,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        liquidity: Liquidity,
    ) -> Decimal:
        model = self.crypto if asset.asset_class is AssetClass.CRYPTO else self.equity
        return model.fee(
            asset=asset, side=side, qty=qty, price=price, gross=gross, liquidity=liquidity
        )
