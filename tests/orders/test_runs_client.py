"""The typed client's run and queue methods against the real server."""

from __future__ import annotations

from uuid import UUID

import pytest

from factoryos.client import ClientError, FactoryClient
from tests.accounts import PASSWORD, new_company
from tests.orders import runs_plant


async def test_an_operator_runs_the_queue_through_the_client(live_server, http, app_engine) -> None:
    owner = new_company(http)
    shop = runs_plant.shop(http, owner)
    m = UUID(shop["machines"][0]["id"])
    a = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": str(m)}])
    b = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": str(m)}])
    op_a, op_b = UUID(a["operations"][0]), UUID(b["operations"][0])
    async with FactoryClient(live_server.url) as api:
        await api.login(owner.email, PASSWORD)
        queue = await api.reorder_queue(m, [op_b, op_a])
        assert [i.operation_id for i in queue.items] == [op_b, op_a]
        assert (await api.dispatch_operation(op_a, m, position=1)).items[0].operation_id == op_a
        assert await api.machine_run(m) is None
        started = await api.start_run(m, order_number=a["number"])
        assert (started.run.operation_id, started.ended) == (op_a, None)
        with pytest.raises(ClientError) as busy:
            await api.start_run(m, operation_id=op_b)
        assert (busy.value.code, busy.value.status) == ("operation_running", 409)
        assert (await api.setup_done(m)).setup_ended_at is not None
        switched = await api.start_run(m, operation_id=op_b, current="pause")
        assert switched.ended is not None and switched.ended.end_kind == "paused"
        assert (await api.machine_queue(m, shifts=1)).running.operation_id == op_b
        assert (await api.pause_run(m, "tool change")).operation_status == "paused"
        await api.start_run(m, operation_id=op_a)
        done = await api.complete_run(m, final_good=100, final_scrap=2)
        assert (done.good, done.scrap, done.operation_status) == (100, 2, "completed")
        assert [i.operation_id for i in (await api.machine_queue(m)).items] == [op_b]
