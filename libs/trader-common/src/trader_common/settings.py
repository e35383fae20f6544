"""Settings shared by every app. Each app subclasses ``AppSettings`` with its own env prefix."""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SidecarSettings(BaseSettings):
    """Where the app's Dapr sidecar listens. Dapr sets these variables for the app it runs."""

    model_config = SettingsConfigDict(env_prefix="DAPR_", extra="ignore")

    host: str = "127.0.0.1"
    http_port: int = Field(default=3500, ge=1, le=65535)
    grpc_port: int = Field(default=50001, ge=1, le=65535)
    api_token: SecretStr | None = None


class AppSettings(BaseSettings):
    """Common settings. Subclasses set ``model_config`` with their own ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_json: bool = True
    pubsub_name: str = "pubsub"
    statestore_name: str = "statestore"
    sidecar: SidecarSettings = Field(default_factory=SidecarSettings)


class SettingsError(SystemExit):
    """Invalid settings: exits the process with one line per problem, naming the variable."""


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment, or exit with a clear message naming each variable."""
    from pydantic import ValidationError

    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        lines = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            lines.append(f"invalid setting {prefix}{field.upper()}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
