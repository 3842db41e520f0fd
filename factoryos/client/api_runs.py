"""Operations at the machine (start, setup done, pause, complete) and machine queues (dispatch)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.orders.run_models import QueueOut, RunOut, RunStartOut


def run_path(machine_id: UUID) -> str:
    return f"/machines/{machine_id}/run"


def queue_path(machine_id: UUID) -> str:
    return f"/machines/{machine_id}/queue"


class RunsApi:
    t: Transport

    async def machine_run(self, machine_id: UUID) -> RunOut | None:
        """The operation running on the machine, or None."""
        return await self.t.get(run_path(machine_id), RunOut | None)

    async def start_run(
        self, machine_id: UUID, *, operation_id: UUID | None = None, order_number: str | None = None,
        current: Literal["pause", "complete"] | None = None, idempotency_key: str | None = None,
    ) -> RunStartOut:
        """Start an operation by id or by its order's number (a scan); `current` ends the running one first
        (without it a running operation answers 409 `operation_running`)."""
        body = {"operation_id": str(operation_id) if operation_id else None, "order_number": order_number,
                "current": current}
        return await self.t.send("POST", run_path(machine_id), RunStartOut,
                                 json={k: v for k, v in body.items() if v is not None},
                                 idempotency_key=idempotency_key)

    async def setup_done(self, machine_id: UUID) -> RunOut:
        return await self.t.send("POST", run_path(machine_id) + "/setup-done", RunOut)

    async def pause_run(self, machine_id: UUID, reason: str | None = None, *,
                        idempotency_key: str | None = None) -> RunOut:
        return await self.t.send("POST", run_path(machine_id) + "/pause", RunOut,
                                 json={"reason": reason} if reason else {}, idempotency_key=idempotency_key)

    async def complete_run(self, machine_id: UUID, *, final_good: int | None = None, final_scrap: int | None = None,
                           idempotency_key: str | None = None) -> RunOut:
        """Complete the running operation; final figures, when given, replace what was counted."""
        body = {"final_good": final_good, "final_scrap": final_scrap}
        return await self.t.send("POST", run_path(machine_id) + "/complete", RunOut,
                                 json={k: v for k, v in body.items() if v is not None}, idempotency_key=idempotency_key)

    async def machine_queue(self, machine_id: UUID, *, shifts: int | None = None) -> QueueOut:
        """The machine's queue planned onto its next `shifts` shifts (server default 3)."""
        return await self.t.get(queue_path(machine_id), QueueOut, params={"shifts": shifts})

    async def reorder_queue(self, machine_id: UUID, operation_ids: list[UUID]) -> QueueOut:
        """Exactly the queued operations in their new order (else 422 `queue_mismatch`)."""
        return await self.t.send("PUT", queue_path(machine_id), QueueOut,
                                 json={"operation_ids": [str(i) for i in operation_ids]})

    async def dispatch_operation(self, operation_id: UUID, machine_id: UUID, *, position: int | None = None) -> QueueOut:
        """Queue a released operation on a machine (1 = next; default last); answers that machine's queue."""
        body: dict[str, object] = {"machine_id": str(machine_id)}
        if position is not None:
            body["position"] = position
        return await self.t.send("POST", f"/orders/operations/{operation_id}/dispatch", QueueOut, json=body)
