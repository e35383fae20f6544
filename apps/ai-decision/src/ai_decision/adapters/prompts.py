"""Prompt templates as versioned Jinja2 files: ``<dir>/<name>/v<N>/system.j2`` (the stable,
cacheable part) and ``user.j2`` (the per-decision context). All templates are read when the
renderer is built, so a missing or broken template fails at startup, not mid-decision."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from ..domain.context import DecisionContext
from ..domain.decision import DECISION_TOOL_SCHEMA, TOOL_NAME
from ..domain.prompt import RenderedPrompt, TemplateRef

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class TemplateError(ValueError):
    """A prompt template is missing or does not render."""


def _pct(value: float | Decimal | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{float(value) * 100:{'+' if signed else ''}.{digits}f}%"


def _num(value: float | Decimal | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, Decimal):
        return str(value)
    return f"{value:.{digits}f}"


class JinjaPromptRenderer:
    def __init__(self, directory: Path, templates: Iterable[TemplateRef]) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # prompts are plain text, not HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["pct"] = _pct
        self._env.filters["num"] = _num
        self._env.filters["tojson"] = lambda v: json.dumps(v, indent=2, sort_keys=True)
        self._compiled: dict[TemplateRef, tuple[jinja2.Template, jinja2.Template]] = {}
        for ref in templates:
            self._compiled[ref] = self._load(ref)

    def _load(self, ref: TemplateRef) -> tuple[jinja2.Template, jinja2.Template]:
        try:
            return (
                self._env.get_template(f"{ref.name}/v{ref.version}/system.j2"),
                self._env.get_template(f"{ref.name}/v{ref.version}/user.j2"),
            )
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"prompt template {ref}: file {exc.name} not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"prompt template {ref}: syntax error in {exc.name} "
                f"line {exc.lineno}: {exc.message}"
            ) from None

    def render(self, template: TemplateRef, context: DecisionContext) -> RenderedPrompt:
        if template not in self._compiled:
            self._compiled[template] = self._load(template)
        system_t, user_t = self._compiled[template]
        variables: dict[str, Any] = {
            "ctx": context,
            "tool_name": TOOL_NAME,
            "tool_schema": DECISION_TOOL_SCHEMA,
            "template": str(template),
        }
        try:
            system = system_t.render(tool_name=TOOL_NAME, template=str(template)).strip()
            user = user_t.render(**variables).strip()
        except jinja2.TemplateError as exc:
            raise TemplateError(f"prompt template {template} does not render: {exc}") from None
        return RenderedPrompt(template=template, system=system, user=user)
