"""Publishing to the company's MQTT broker (/api/v1/integrations/mqtt-publish): admins only.

Like webhook endpoints, these settings decide where the company's production data goes, so every
route, reading ones included, needs `admin.system`. The broker password is never sent back.
"""

from __future__ import annotations

import asyncio

from factoryos.identity.keys import DerivedKeys
from factoryos.integrations import mqtt_publish
from factoryos.integrations.mqtt_publish_models import MqttPublishIn, MqttPublishOut, MqttPublishTestOut
from factoryos.integrations.mqtt_publisher import ConnectivityError, test_publish
from factoryos.keys import secret_key
from server.api import Context, Router

router = Router(prefix="/api/v1/integrations/mqtt-publish", tags=("integrations",))

ADMIN = "admin.system"
ENTITY = mqtt_publish.ENTITY


def _keys(ctx: Context) -> DerivedKeys:
    return DerivedKeys.from_secret(secret_key(ctx.settings))


@router.get("", permission=ADMIN, response=MqttPublishOut)
def get_mqtt_publish(ctx: Context) -> MqttPublishOut:
    """The company's broker, what is published and the publisher's health (404 when not set up)."""
    return mqtt_publish.get_settings(ctx.conn, ctx.tenant_id)


@router.put("", permission=ADMIN, body=MqttPublishIn, response=MqttPublishOut)
def put_mqtt_publish(ctx: Context, body: MqttPublishIn) -> MqttPublishOut:
    """Set up or change publishing; the server's publisher reconnects with it within seconds.

    A password left out keeps the stored one; `""` removes it."""
    before, after = mqtt_publish.put_settings(ctx.conn, ctx.tenant_id, ctx.user_id, _keys(ctx), body)
    ctx.audit("create" if before is None else "update", ENTITY, ctx.tenant_id,
              before=mqtt_publish.audit_view(before), after=mqtt_publish.audit_view(after))
    return after


@router.delete("", permission=ADMIN, status_code=204)
def delete_mqtt_publish(ctx: Context) -> None:
    """Stop publishing and forget the settings (retained topics stay on the broker until cleared)."""
    before = mqtt_publish.delete_settings(ctx.conn, ctx.tenant_id)
    ctx.audit("delete", ENTITY, ctx.tenant_id, before=mqtt_publish.audit_view(before))


@router.post("/test", permission=ADMIN, response=MqttPublishTestOut, long_running=True)
def test_mqtt_publish(ctx: Context) -> MqttPublishTestOut:
    """Connect with the saved settings and publish one message to `<prefix>/_test`.

    A failure is an answer (`ok` false and why, in words), not an error of this request."""
    mqtt_publish.get_settings(ctx.conn, ctx.tenant_id)  # 404 when not set up
    try:
        config = mqtt_publish.load_config(ctx.conn, ctx.tenant_id, _keys(ctx))
        assert config is not None
        topic = asyncio.run(test_publish(config))
        out = MqttPublishTestOut(ok=True, topic=topic, error=None, error_code=None)
    except ConnectivityError as exc:
        out = MqttPublishTestOut(ok=False, topic=None, error=exc.detail, error_code=exc.code)
    ctx.audit("test", ENTITY, ctx.tenant_id, after=out.model_dump(mode="json"))
    return out
