"""AI decision service benchmarks (figures only, nothing asserted).

1. The local model: decisions/s for a 100-symbol request, end to end in process (feature reads,
   fusion, prompt rendering, the model, validation, audit, publish) and the bare model.
2. The Claude path, the real anthropic SDK against the fake Messages API on loopback: input,
   cache-write, cache-read and output tokens per decision and cost per 100-symbol trading cycle,
   prompt caching on and off, fast (Haiku) and deep (Sonnet). Tokens are the fake's estimate
   (characters / 4) of the prompts this service really sends.

Process start-up (to /healthz and /readyz, with and without compiled bytecode) is its own
benchmark: ``python -m bench ai_decision_startup``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import numpy as np

from ai_decision.domain.commands import AccountSnapshot, RequestDecision, Task
from ai_decision.domain.local_model import decide
from ai_decision.domain.pricing import TokenUsage
from ai_decision.domain.routing import RoutingPolicy
from ai_decision.main import Overrides, create_app
from ai_decision.settings import AiDecisionSettings
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import BarClosed, QuoteUpdated

SYMBOLS = [f"S{i:03d}" for i in range(100)]
BARS_PER_SYMBOL = 150
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
AS_OF = T0 + timedelta(minutes=BARS_PER_SYMBOL)


def market_events(symbol: str, seed: int) -> list[BarClosed | QuoteUpdated]:
    rng = np.random.default_rng(seed)
    price = 50.0 + seed
    drift = float(rng.normal(0, 0.002))
    events: list[BarClosed | QuoteUpdated] = []
    for i in range(BARS_PER_SYMBOL):
        open_ = price
        price *= float(np.exp(drift + 0.006 * rng.standard_normal()))
        o, c = Decimal(f"{open_:.2f}"), Decimal(f"{price:.2f}")
        events.append(
            BarClosed(
                symbol=symbol,
                source="bench",
                timeframe="1Min",
                ts_open=T0 + timedelta(minutes=i),
                ts_event=T0 + timedelta(minutes=i + 1),
                open=o,
                high=max(o, c) + Decimal("0.05"),
                low=min(o, c) - Decimal("0.05"),
                close=c,
                volume=Decimal(int(1000 + 300 * abs(rng.standard_normal()))),
            )
        )
    mid = Decimal(f"{price:.2f}")
    events.append(
        QuoteUpdated(
            symbol=symbol,
            source="bench",
            ts_event=AS_OF,
            bid=mid - Decimal("0.01"),
            ask=mid + Decimal("0.01"),
            bid_size=Decimal(100),
            ask_size=Decimal(100),
        )
    )
    return events


def cycle_request(task: Task = Task.FAST) -> RequestDecision:
    return RequestDecision(
        request_id=uuid4(),
        strategy_id="bench",
        symbols=SYMBOLS,
        as_of=AS_OF,
        task=task,
        account=AccountSnapshot(
            equity=Decimal("1000000"), cash=Decimal("1000000"), buying_power=Decimal("1000000")
        ),
    )


async def build(settings: AiDecisionSettings) -> tuple[Any, float]:
    app = create_app(settings, Overrides(state=InMemoryStateStore(), publisher=InMemoryEventBus()))
    started = time.perf_counter()
    count = 0
    for n, symbol in enumerate(SYMBOLS):
        for event in market_events(symbol, n):
            await app.state.features.ingest(event)
            count += 1
    return app, count / (time.perf_counter() - started)


async def bench_local_model() -> None:
    print("\n-- local model (momentum + mean reversion ensemble), 100 symbols --")
    app, ingest_rate = await build(AiDecisionSettings(news_source="none", log_json=False))
    print(f"feature store ingest: {ingest_rate:,.0f} market events/s (in-memory state store)")
    service = app.state.decision_requests
    cycles = 5
    started = time.perf_counter()
    outcomes = []
    for _ in range(cycles):
        outcomes += await service.handle(cycle_request())
    elapsed = time.perf_counter() - started
    actions: dict[str, int] = {}
    for outcome in outcomes:
        record = await app.state.audit.get(outcome.decision_id)
        action = (record.decision or {}).get("action", str(outcome.status))
        actions[action] = actions.get(action, 0) + 1
    print(
        f"end to end: {len(outcomes) / elapsed:,.0f} decisions/s "
        f"({elapsed / cycles * 1000:.0f} ms per 100-symbol cycle; actions {actions})"
    )
    contexts = [(await app.state.decisions.prepare(cycle_request(), s)).context for s in SYMBOLS]
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for ctx in contexts:
            decide(ctx)
    elapsed = time.perf_counter() - started
    print(f"model only: {rounds * len(contexts) / elapsed:,.0f} decisions/s")


@dataclass
class CycleFigures:
    usage: TokenUsage
    cost: Decimal
    decisions: int
    seconds: float


async def claude_cycle(app: Any, task: Task) -> CycleFigures:
    started = time.perf_counter()
    outcomes = await app.state.decision_requests.handle(cycle_request(task))
    seconds = time.perf_counter() - started
    usage, cost = TokenUsage(), Decimal("0")
    for outcome in outcomes:
        record = await app.state.audit.get(outcome.decision_id)
        usage = usage + TokenUsage.from_json(record.usage)
        cost += record.cost_usd
    return CycleFigures(usage, cost, len(outcomes), seconds)


async def bench_claude_path() -> None:
    from tests.fakes.anthropic_api import running_fake

    print("\n-- Claude path (anthropic SDK → fake Messages API), 100-symbol trading cycle --")
    print(
        f"{'task/model':<26}{'caching':<9}{'cycle':<7}{'input':>8}{'cache wr':>10}"
        f"{'cache rd':>10}{'output':>8}   {'cost/cycle':>11}  {'cost/decision':>13}"
    )
    routing = RoutingPolicy(
        tasks={Task.FAST: ["claude:claude-haiku-4-5"], Task.DEEP: ["claude:claude-sonnet-4-6"]}
    )
    with running_fake() as fake:
        for caching in (True, False):
            fake.reset_cache()
            settings = AiDecisionSettings(
                news_source="none",
                log_json=False,
                log_level="WARNING",
                anthropic_api_key="sk-bench",
                anthropic_base_url=fake.base_url,
                routing=routing,
                prompt_caching=caching,
            )
            app, _ = await build(settings)
            async with app.router.lifespan_context(app):
                for task, model in ((Task.FAST, "haiku-4-5"), (Task.DEEP, "sonnet-4-6")):
                    for cycle in (1, 2):
                        f = await claude_cycle(app, task)
                        n = f.decisions
                        print(
                            f"{task.value + '/' + model:<26}{'on' if caching else 'off':<9}"
                            f"{cycle:<7}{f.usage.input_tokens / n:>8.0f}"
                            f"{f.usage.cache_creation_input_tokens / n:>10.0f}"
                            f"{f.usage.cache_read_input_tokens / n:>10.0f}"
                            f"{f.usage.output_tokens / n:>8.0f}   ${f.cost:>10.4f}"
                            f"  ${f.cost / n:>12.6f}"
                        )
    print("(tokens per decision; cost from the price table incl. cache write 1.25x, read 0.1x)")


def main() -> None:
    asyncio.run(bench_local_model())
    asyncio.run(bench_claude_path())


if __name__ == "__main__":
    main()
