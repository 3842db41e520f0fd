"""The typed client's jobs and onboarding methods against the real server."""

from __future__ import annotations

import pytest

from factoryos.client import ClientError, FactoryClient
from factoryos.client.api_jobs import read_job_file
from tests.accounts import PASSWORD, new_company
from tests.onboarding.support import csv_bytes

HEADER = ["Job", "Product", "Qty", "Due"]


async def _client(live_server, email: str) -> FactoryClient:
    api = FactoryClient(live_server.url)
    await api.login(email, PASSWORD)
    return api


async def test_preview_import_list_and_onboarding_through_the_client(live_server, http, tmp_path) -> None:
    owner = new_company(http)
    path = tmp_path / "jobs.csv"
    path.write_bytes(csv_bytes([HEADER, ["J-1", "Bracket", "5", "2026-09-01"], ["J-2", "Hinge", "x", "2026-09-01"]]))
    async with await _client(live_server, owner.email) as api:
        name, data = await api.load_job_file(str(path))
        preview = await api.import_jobs(data, name)
        assert (preview.dry_run, preview.valid_rows, preview.invalid_rows) == (True, 1, 1)
        with pytest.raises(ClientError) as refused:
            await api.import_jobs(data, name, dry_run=False)
        assert refused.value.code == "import_has_errors" and refused.value.extra["errors"][0]["row"] == 3
        done = await api.import_jobs(data, name, dry_run=False, skip_invalid=True)
        assert done.imported == 1 and done.job_numbers == ["J-1"]
        page = await api.jobs(q="J-")
        assert [j.job_number for j in page.items] == ["J-1"]
        assert (await api.job(page.items[0].id)).product == "Bracket"
        state = await api.record_onboarding_step("connect_erp", "done", {"file_name": name})
        assert state.current_step == "import_jobs" and state.step("connect_erp").data == {"file_name": "jobs.csv"}
        state = await api.move_onboarding("complete")
        assert state.completed and (await api.onboarding()).completed


async def test_files_too_large_for_the_server_are_refused_on_the_terminal_and_by_it(live_server, http, tmp_path):
    owner = new_company(http)
    async with await _client(live_server, owner.email) as api:
        limit = (await api.job_import_limits()).max_file_bytes
        big = tmp_path / "big.csv"
        big.write_bytes(b"x" * (limit + 1))
        with pytest.raises(ClientError) as local:
            await api.load_job_file(big)
        assert local.value.code == "file_too_large" and local.value.field == "path"
        with pytest.raises(ClientError) as remote:  # sent anyway: the body limit answers, said plainly
            await api.import_jobs(b"x" * 900_000, "huge.csv")
        assert remote.value.code == "file_too_large" and "too large for this server" in remote.value.detail


@pytest.mark.parametrize(("path", "code"), [("", "path_required"), ("/nonexistent/jobs.csv", "file_not_found"),
                                            (".", "not_a_file")])
def test_reading_a_job_file_says_what_is_wrong(path, code) -> None:
    with pytest.raises(ClientError) as error:
        read_job_file(path)
    assert error.value.code == code and error.value.field == "path"
