"""Set-up errors: one clear line naming the thing and how to fix it."""

from __future__ import annotations


class SetupError(RuntimeError):
    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what} — {fix}")
        self.what = what
        self.fix = fix
