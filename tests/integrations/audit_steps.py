"""The route audit walk's steps for the webhook routes (see tests/audit/walk.py)."""

from __future__ import annotations

import time

from tests.audit.walk import Expect, Walk, step

# Nothing listens on the discard port: the test delivery fails at once, which the replay step needs.
DEAD_URL = "http://127.0.0.1:9/hook"


def _endpoint(w: Walk) -> dict:
    return w.call("POST", "/api/v1/webhooks", json={"url": DEAD_URL, "events": ["order.status_changed"]}).json()


@step("POST /api/v1/webhooks")
def _webhook_create(w: Walk) -> Expect:
    made = _endpoint(w)
    w.state["webhook"] = made
    return Expect("create", "webhook_endpoint", made["id"], "create")


@step("PATCH /api/v1/webhooks/{endpoint_id:uuid}")
def _webhook_patch(w: Walk) -> Expect:
    hook = w.state["webhook"]
    w.call("PATCH", f"/api/v1/webhooks/{hook['id']}", json={"description": "MES bridge"})
    return Expect("update", "webhook_endpoint", hook["id"], "update")


@step("POST /api/v1/webhooks/{endpoint_id:uuid}/rotate-secret")
def _webhook_rotate(w: Walk) -> Expect:
    hook = w.state["webhook"]
    w.call("POST", f"/api/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_hours": 2})
    return Expect("rotate_secret", "webhook_endpoint", hook["id"], "update")


@step("POST /api/v1/webhooks/{endpoint_id:uuid}/test")
def _webhook_test(w: Walk) -> Expect:
    hook = w.state["webhook"]
    w.state["webhook_delivery"] = w.call("POST", f"/api/v1/webhooks/{hook['id']}/test").json()
    return Expect("test", "webhook_endpoint", hook["id"], "event")


@step("POST /api/v1/webhooks/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/retry")
def _webhook_retry(w: Walk) -> Expect:
    hook, delivery = w.state["webhook"], w.state["webhook_delivery"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the server's worker tries the test event once, and it fails
        log = w.call("GET", f"/api/v1/webhooks/{hook['id']}/deliveries", params={"status": "failed"}).json()
        if any(d["id"] == delivery["id"] for d in log["items"]):
            break
        time.sleep(0.2)
    w.call("POST", f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry")
    return Expect("retry", "webhook_delivery", delivery["id"], "update")


@step("DELETE /api/v1/webhooks/{endpoint_id:uuid}")
def _webhook_delete(w: Walk) -> Expect:
    doomed = _endpoint(w)
    w.call("DELETE", f"/api/v1/webhooks/{doomed['id']}")
    return Expect("delete", "webhook_endpoint", doomed["id"], "delete")


# -- MQTT publishing: a broker nobody runs (the discard port); saving and testing need none. --
MQTT_URL = "/api/v1/integrations/mqtt-publish"


@step("PUT /api/v1/integrations/mqtt-publish")
def _mqtt_publish_put(w: Walk) -> Expect:
    w.call("PUT", MQTT_URL, json={"url": "mqtt://127.0.0.1:9", "username": "factory", "password": "pw-secret",
                                  "topic_prefix": "walk"})
    return Expect("create", "mqtt_publish_settings", w.owner.tenant_id, "create")


@step("POST /api/v1/integrations/mqtt-publish/test")
def _mqtt_publish_test(w: Walk) -> Expect:
    w.call("POST", f"{MQTT_URL}/test")
    return Expect("test", "mqtt_publish_settings", w.owner.tenant_id, "event")


@step("DELETE /api/v1/integrations/mqtt-publish")
def _mqtt_publish_delete(w: Walk) -> Expect:
    w.call("DELETE", MQTT_URL)
    return Expect("delete", "mqtt_publish_settings", w.owner.tenant_id, "delete")
