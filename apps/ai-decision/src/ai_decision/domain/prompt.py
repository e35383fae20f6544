"""A rendered prompt: the stable part (system: role, rules, output contract — cacheable) and the
per-decision part (user: the context), with the template version and a hash for the audit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """``decision/v1`` names template ``decision`` at version 1."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}/v{self.version}"

    @classmethod
    def parse(cls, text: str) -> TemplateRef:
        name, sep, version = text.strip().rpartition("/v")
        if not sep or not name or not version.isdigit() or int(version) < 1:
            raise ValueError(f"template reference {text!r} is not of the form <name>/v<N>")
        return cls(name, int(version))


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    template: TemplateRef
    system: str
    user: str

    @property
    def sha256(self) -> str:
        """Hash of exactly what a model is shown (system, separator, user)."""
        digest = hashlib.sha256()
        digest.update(self.system.encode())
        digest.update(b"\n\x1e\n")
        digest.update(self.user.encode())
        return digest.hexdigest()

    @property
    def system_sha256(self) -> str:
        return hashlib.sha256(self.system.encode()).hexdigest()
