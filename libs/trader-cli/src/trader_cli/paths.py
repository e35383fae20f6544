"""Where things live: the repository root, its ignored .local folder, the Dapr install."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SetupError


def repo_root() -> Path:
    """The checkout this tool belongs to (TRADER_HOME overrides)."""
    if env := os.environ.get("TRADER_HOME"):
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "dapr" / "dapr.yaml").is_file() and (candidate / "components").is_dir():
                return candidate
    raise SetupError(
        "cannot find the AI Active Trader checkout", "run trader from inside it or set TRADER_HOME"
    )


def local_dir() -> Path:
    path = repo_root() / ".local"
    path.mkdir(exist_ok=True)
    return path


def dapr_bin_dir() -> Path:
    return Path(os.environ.get("DAPR_INSTALL_DIR", Path.home() / ".dapr" / "bin"))


def resource(*parts: str) -> Path:
    return Path(__file__).resolve().parent.joinpath("resources", *parts)
