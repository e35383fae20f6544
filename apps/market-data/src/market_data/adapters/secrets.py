"""Secret sources for the connectors: the shared ones (trader_common.adapters.secrets)."""

from trader_common.adapters.secrets import DaprSecretSource, StaticSecretSource

__all__ = ["DaprSecretSource", "StaticSecretSource"]
