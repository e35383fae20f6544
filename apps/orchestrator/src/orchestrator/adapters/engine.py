"""The trading engine, reached by Dapr service invocation."""

from __future__ import annotations

from trader_common.ports import PlatformUnavailableError, ServiceInvoker


class DaprOrderCanceller:
    def __init__(self, invoker: ServiceInvoker, engine_app_id: str) -> None:
        self._invoker = invoker
        self._engine = engine_app_id

    async def cancel_all(self, reason: str) -> int:
        status, body = await self._invoker.invoke(self._engine, "orders", http_method="DELETE")
        if status >= 300:
            raise PlatformUnavailableError(
                f"trading engine refused to cancel all orders: HTTP {status} {body}"
            )
        return len(body) if isinstance(body, list) else 0
