"""The trading cycle as a Dapr Workflow (a saga): request decisions, submit the orders they ask
for, wait for fills or a deadline, and cancel what is left open when time runs out.

Workflow code is replayed by the runtime, so it only orchestrates; every side effect is an
activity. Activities talk to the local sidecar over its HTTP API (service invocation, the
ai-requests output binding) and are idempotent: orders carry a client_order_id derived from the
cycle, so an activity retried after a crash or a restart never places a second order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from datetime import timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import httpx

from ..domain.cycle import intent_from_decision, is_terminal

log = logging.getLogger(__name__)

REQUEST_DECISION_TYPE = "ai.active-trader.ai.request-decision.v1"


class SidecarCalls:
    """Synchronous calls through the sidecar, for activities (which run in worker threads)."""

    def __init__(self, http_port: int, engine_app_id: str, ai_app_id: str) -> None:
        self.base = f"http://127.0.0.1:{http_port}"
        self.engine = engine_app_id
        self.ai = ai_app_id

    def invoke(self, app_id: str, method: str, http_method: str = "GET", body: Any = None) -> Any:
        response = httpx.request(
            http_method,
            f"{self.base}/v1.0/invoke/{app_id}/method/{method}",
            json=body,
            timeout=30,
        )
        if response.status_code >= 300:
            raise RuntimeError(
                f"{app_id} {http_method} {method}: HTTP {response.status_code} "
                f"{response.text[:300]}"
            )
        return response.json() if response.content else None

    def request_decisions(self, cloud_event: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/v1.0/bindings/ai-requests",
            json={
                "operation": "post",
                "data": cloud_event,
                "metadata": {
                    "path": "/decisions/requests",
                    "Content-Type": "application/cloudevents+json",
                },
            },
            timeout=90,
        )
        if response.status_code >= 300:
            raise RuntimeError(
                f"decision request failed: HTTP {response.status_code} {response.text[:300]}"
            )
        result: dict[str, Any] = response.json()
        return result


_calls: SidecarCalls | None = None


def configure(calls: SidecarCalls) -> None:
    global _calls
    _calls = calls


def _sidecar() -> SidecarCalls:
    if _calls is None:
        raise RuntimeError("workflow activities used before the orchestrator configured them")
    return _calls


# --- activities ---------------------------------------------------------------------------------


def request_decisions(_ctx: Any, cycle: dict[str, Any]) -> list[dict[str, Any]]:
    """Ask ai-decision (through the ai-requests binding) and return the accepted decisions."""
    calls = _sidecar()
    account = calls.invoke(calls.engine, "account")
    positions = {
        p["symbol"]: {"qty": str(p["qty"])}
        for p in calls.invoke(calls.engine, "positions") or []
        if p["symbol"] in cycle["symbols"]
    }
    request_id = str(uuid5(NAMESPACE_URL, f"cycle:{cycle['cycle_id']}"))
    envelope = {
        "specversion": "1.0",
        "id": request_id,
        "source": "/orchestrator",
        "type": REQUEST_DECISION_TYPE,
        "datacontenttype": "application/json",
        "data": {
            "request_id": request_id,
            "strategy_id": cycle["strategy_id"],
            "symbols": cycle["symbols"],
            "as_of": cycle["as_of"],
            "task": "fast",
            "account": {
                "equity": str(account["equity"]),
                "cash": str(account["cash"]),
                "buying_power": str(account["buying_power"]),
            },
            "positions": positions,
            **({"risk_limits": cycle["risk_limits"]} if cycle.get("risk_limits") else {}),
        },
    }
    result = calls.request_decisions(envelope)
    accepted = []
    for outcome in result.get("outcomes", []):
        if outcome.get("status") != "accepted":
            continue
        audit = calls.invoke(calls.ai, f"decisions/{outcome['decision_id']}/audit")
        if audit and audit.get("decision"):
            accepted.append(audit["decision"])
    return accepted


def submit_order(_ctx: Any, order: dict[str, Any]) -> dict[str, Any]:
    calls = _sidecar()
    placed: dict[str, Any] = calls.invoke(calls.engine, "orders", "POST", order)
    return {"id": placed["order_id"], "status": placed["status"], "symbol": placed["symbol"]}


def order_status(_ctx: Any, order_id: str) -> str:
    calls = _sidecar()
    return str(calls.invoke(calls.engine, f"orders/{order_id}")["status"])


def cancel_order(_ctx: Any, order_id: str) -> str:
    calls = _sidecar()
    try:
        calls.invoke(calls.engine, f"orders/{order_id}", "DELETE")
    except RuntimeError as exc:  # filled meanwhile: nothing to compensate
        log.info("cancel not needed", extra={"order_id": order_id, "reason": str(exc)})
        return "not-open"
    return "canceled"


# --- the workflow -------------------------------------------------------------------------------


def trading_cycle(ctx: Any, cycle: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    decisions = yield ctx.call_activity(request_decisions, input=cycle)
    intents = [
        i for d in decisions if (i := intent_from_decision(cycle["cycle_id"], d)) is not None
    ]
    orders = []
    for intent in intents:
        placed = yield ctx.call_activity(submit_order, input=intent.to_json())
        orders.append(placed)
    fill_timeout = int(cycle.get("fill_timeout", 30))
    # fill_timeout 0: leave the orders working (a daily strategy's fill at the next bar's open)
    open_ids = [o["id"] for o in orders if not is_terminal(o["status"])] if fill_timeout else []
    deadline = ctx.current_utc_datetime + timedelta(seconds=fill_timeout)
    while open_ids and ctx.current_utc_datetime < deadline:
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=1))
        still_open = []
        for order_id in open_ids:
            status = yield ctx.call_activity(order_status, input=order_id)
            if not is_terminal(status):
                still_open.append(order_id)
        open_ids = still_open
    compensated = []
    for order_id in open_ids:  # out of time: cancel what is left (the saga's compensation)
        yield ctx.call_activity(cancel_order, input=order_id)
        compensated.append(order_id)
    return {
        "cycle_id": cycle["cycle_id"],
        "decisions": len(decisions),
        "orders": [o["id"] for o in orders],
        "canceled": compensated,
    }


def build_runtime(grpc_port: int) -> Any:
    import dapr.ext.workflow as wf

    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(grpc_port))
    runtime.register_workflow(trading_cycle, name="trading_cycle")
    for activity in (request_decisions, submit_order, order_status, cancel_order):
        runtime.register_activity(activity, name=activity.__name__)
    return runtime


def build_client(grpc_port: int) -> Any:
    import dapr.ext.workflow as wf

    return wf.DaprWorkflowClient(host="127.0.0.1", port=str(grpc_port))


def grpc_port_from_env(default: int) -> int:
    return int(os.environ.get("DAPR_GRPC_PORT", default))
