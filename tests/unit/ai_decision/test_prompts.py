"""Versioned prompt templates: rendering, hashing, stable cacheable part, startup failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_decision.adapters.prompts import DEFAULT_PROMPTS_DIR, JinjaPromptRenderer, TemplateError
from ai_decision.domain.commands import Task
from ai_decision.domain.context import Headline
from ai_decision.domain.prompt import TemplateRef
from tests.unit.ai_decision.builders import T0, bar_series, make_context

V1 = TemplateRef("decision", 1)


@pytest.fixture
def renderer() -> JinjaPromptRenderer:
    return JinjaPromptRenderer(DEFAULT_PROMPTS_DIR, [V1])


def test_prompt_render_is_deterministic_and_hashed(renderer: JinjaPromptRenderer) -> None:
    ctx = make_context(bars=bar_series(80), task=Task.DEEP)
    first, second = renderer.render(V1, ctx), renderer.render(V1, ctx)
    assert first == second
    assert first.sha256 == second.sha256
    assert len(first.sha256) == 64
    assert str(first.template) == "decision/v1"


def test_prompt_user_part_carries_the_fused_context(renderer: JinjaPromptRenderer) -> None:
    news = [Headline(published_at=T0, headline="Apple beats estimates", source="Reuters")]
    ctx = make_context(bars=bar_series(80), task=Task.DEEP, position="12", headlines=news)
    user = renderer.render(V1, ctx).user
    for expected in (
        "Decide for AAPL",
        "rsi_14",
        "Apple beats estimates",
        "position: 12 shares",
        "max_position_weight: 0.10",
        "Recent bars",
        "buying power 100000",
    ):
        assert expected in user


def test_prompt_system_part_is_the_same_for_every_context(renderer: JinjaPromptRenderer) -> None:
    a = renderer.render(V1, make_context("AAPL", bars=bar_series(80, seed=1)))
    b = renderer.render(V1, make_context("MSFT", bars=None, position="5", task=Task.DEEP))
    assert a.system == b.system  # the cacheable prefix does not depend on the decision
    assert a.user != b.user
    assert a.sha256 != b.sha256
    assert "submit_decision" in a.system


def test_prompt_missing_values_render_as_na(renderer: JinjaPromptRenderer) -> None:
    user = renderer.render(V1, make_context(bars=None, price=None)).user
    assert "No closed bars" in user
    assert "quote: none yet" in user


def copy_v1(tmp_path: Path, version: int, user_extra: str = "") -> None:
    target = tmp_path / "decision" / f"v{version}"
    target.mkdir(parents=True)
    source = DEFAULT_PROMPTS_DIR / "decision" / "v1"
    (target / "system.j2").write_text((source / "system.j2").read_text())
    (target / "user.j2").write_text((source / "user.j2").read_text() + user_extra)


def test_prompt_new_version_is_recorded_and_hashes_differently(tmp_path: Path) -> None:
    copy_v1(tmp_path, 1)
    copy_v1(tmp_path, 2, "\nThink about liquidity first.")
    v2 = TemplateRef("decision", 2)
    renderer = JinjaPromptRenderer(tmp_path, [V1, v2])
    ctx = make_context(bars=bar_series(40))
    one, two = renderer.render(V1, ctx), renderer.render(v2, ctx)
    assert str(two.template) == "decision/v2"
    assert one.sha256 != two.sha256


def test_prompt_missing_template_fails_at_startup_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"decision/v7: file decision/v7/system.j2 not found"):
        JinjaPromptRenderer(tmp_path, [TemplateRef("decision", 7)])


def test_prompt_syntax_error_fails_at_startup(tmp_path: Path) -> None:
    copy_v1(tmp_path, 1, "{% if %}")
    with pytest.raises(TemplateError, match="syntax error"):
        JinjaPromptRenderer(tmp_path, [V1])


def test_prompt_undefined_variable_is_an_error_not_blank(tmp_path: Path) -> None:
    copy_v1(tmp_path, 1, "{{ ctx.no_such_field }}")
    renderer = JinjaPromptRenderer(tmp_path, [V1])
    with pytest.raises(TemplateError, match="does not render"):
        renderer.render(V1, make_context())


@pytest.mark.parametrize("text", ["decision", "decision/v0", "decision/vx", "/v1"])
def test_template_ref_bad_reference_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not of the form"):
        TemplateRef.parse(text)
