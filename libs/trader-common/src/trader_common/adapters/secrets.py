"""Secret sources shared by the apps: the Dapr secret store through the sidecar, and a static one
for tests.

Secret values are never logged; only the names of secrets appear in messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

from trader_common.adapters.dapr import DaprSidecar
from trader_common.ports import PlatformUnavailableError

log = logging.getLogger(__name__)

_MISSING_CODES = ("ERR_SECRET_GET", "ERR_SECRET_NOT_FOUND")


class DaprSecretSource:
    """``GET /v1.0/secrets/<store>/<name>``; nested keys use ``:`` (``alpaca:api-key``)."""

    def __init__(self, sidecar: DaprSidecar, store: str = "secretstore") -> None:
        self._sidecar = sidecar
        self._store = store

    async def get(self, name: str) -> str | None:
        response = await self._sidecar.request(
            "GET", f"/v1.0/secrets/{quote(self._store, safe='')}/{quote(name, safe=':')}"
        )
        if response.status_code in (204, 404):
            return None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                raise PlatformUnavailableError(
                    f"secret store {self._store!r} answered {name!r} with a body that is not JSON"
                ) from None
            if not isinstance(body, dict):
                raise PlatformUnavailableError(
                    f"secret store {self._store!r} answered {name!r} with a non-object"
                )
            value = body.get(name)
            if value is None and len(body) == 1:
                value = next(iter(body.values()))
            if not isinstance(value, str) or not value.strip():
                return None
            return value.strip()
        text = response.text[:300]
        if response.status_code in (400, 500) and any(code in text for code in _MISSING_CODES):
            log.info("secret not set", extra={"secret": name, "store": self._store})
            return None
        raise PlatformUnavailableError(
            f"could not read secret {name!r} from {self._store!r}: HTTP {response.status_code}"
        )


class StaticSecretSource:
    """Secrets from a mapping (tests, local tools). Empty values count as not set."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    async def get(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if value else None
