"""An error's extra members never break its problem+json (no TypeError, no 500)."""

from __future__ import annotations

import json

from factoryos.errors import Conflict
from server.problem import from_error


def test_extra_members_named_like_standard_ones_are_kept_apart() -> None:
    r = from_error(Conflict("already decided", code="decided", field="status",
                            extra={"status": "accepted", "detail": "x", "decided_by": "u1"}),
                   request_id="req-1", instance="/api/v1/x")
    body = json.loads(r.body)
    assert (r.status_code, body["status"], body["detail"], body["code"]) == (409, 409, "already decided", "decided")
    assert body["status_value"] == "accepted" and body["detail_value"] == "x" and body["decided_by"] == "u1"
    assert body["field"] == "status"
