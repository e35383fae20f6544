"""Reading workflow state through the Dapr Workflow client (blocking gRPC, run in a thread)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc

from trader_common.ports import PlatformUnavailableError

from ..domain.cycle_log import WorkflowSnapshot, snapshot_status


async def workflow_state(client: Any, cycle_id: str, *, fetch_payloads: bool) -> Any:
    """The workflow's state, retrying briefly: daprd can fail a read that races the workflow's
    own save ("inbox key ... missing from state store"). Still failing: 503, never a 500."""
    for attempt in range(4):
        try:
            return await asyncio.to_thread(
                client.get_workflow_state, cycle_id, fetch_payloads=fetch_payloads
            )
        except grpc.RpcError as exc:
            if attempt == 3:
                raise PlatformUnavailableError(
                    f"the workflow runtime could not read cycle {cycle_id}: {exc.details()}"
                ) from None
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


class DaprWorkflowStates:
    """The cycle log's view of the Dapr Workflow client (blocking gRPC, run in a thread)."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client  # made at start-up, once the sidecar's gRPC port answers

    async def snapshot(self, cycle_id: str) -> WorkflowSnapshot | None:
        client = self._client()
        if client is None:  # workflows off (unit tests): nothing runs
            return None
        # PlatformUnavailableError when daprd keeps failing the read: the log asks again later.
        state = await workflow_state(client, cycle_id, fetch_payloads=True)
        if state is None:
            return None
        output = json.loads(state.serialized_output) if state.serialized_output else None
        updated: datetime | None = state.last_updated_at
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)
        return WorkflowSnapshot(
            status=snapshot_status(str(state.runtime_status.name)),
            updated_at=updated,
            output=output if isinstance(output, dict) else None,
            error=str(state.failure_details.message) if state.failure_details else None,
        )
