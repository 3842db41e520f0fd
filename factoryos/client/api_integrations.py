"""Webhook endpoints of the signed-in company: list, add, change, remove, test, delivery log; MQTT
publishing; the company's site edges: list, register, rotate, revoke."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.transport import Transport
from factoryos.edge.edge_models import EdgeCreated, EdgeIn, EdgeOut, EdgePage
from factoryos.integrations.mqtt_publish_models import MqttPublishIn, MqttPublishOut, MqttPublishTestOut
from factoryos.integrations.webhook_models import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
)


class IntegrationsApi:
    t: Transport

    async def webhooks(self) -> EndpointPage:
        return await self.t.get("/webhooks", EndpointPage)

    async def webhook(self, endpoint_id: UUID) -> EndpointOut:
        return await self.t.get(f"/webhooks/{endpoint_id}", EndpointOut)

    async def add_webhook(self, body: EndpointIn) -> EndpointCreated:
        """The answer carries the signing secret, this once."""
        return await self.t.send("POST", "/webhooks", EndpointCreated, json=body.model_dump(mode="json"))

    async def update_webhook(self, endpoint_id: UUID, patch: EndpointPatch) -> EndpointOut:
        """Only the fields set on `patch` are sent."""
        return await self.t.send("PATCH", f"/webhooks/{endpoint_id}", EndpointOut,
                                 json=patch.model_dump(mode="json", exclude_unset=True))

    async def remove_webhook(self, endpoint_id: UUID) -> None:
        await self.t.send("DELETE", f"/webhooks/{endpoint_id}")

    async def rotate_webhook_secret(self, endpoint_id: UUID, overlap_hours: float = 24) -> EndpointCreated:
        """A new secret, shown once; the old one signs too for `overlap_hours`."""
        return await self.t.send("POST", f"/webhooks/{endpoint_id}/rotate-secret", EndpointCreated,
                                 json={"overlap_hours": overlap_hours})

    async def test_webhook(self, endpoint_id: UUID) -> DeliveryOut:
        return await self.t.send("POST", f"/webhooks/{endpoint_id}/test", DeliveryOut)

    async def webhook_deliveries(self, endpoint_id: UUID, *, status: str | None = None, cursor: str | None = None,
                                 limit: int = 50) -> DeliveryPage:
        params = {"status": status, "cursor": cursor, "limit": limit}
        return await self.t.get(f"/webhooks/{endpoint_id}/deliveries", DeliveryPage, params=params)

    async def retry_webhook_delivery(self, endpoint_id: UUID, delivery_id: UUID) -> DeliveryOut:
        return await self.t.send("POST", f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry", DeliveryOut)

    async def mqtt_publish(self) -> MqttPublishOut:
        """Publishing to the company's MQTT broker, with the publisher's health (404 when not set up)."""
        return await self.t.get("/integrations/mqtt-publish", MqttPublishOut)

    async def set_mqtt_publish(self, body: MqttPublishIn) -> MqttPublishOut:
        """A password left out keeps the stored one."""
        return await self.t.send("PUT", "/integrations/mqtt-publish", MqttPublishOut,
                                 json=body.model_dump(mode="json", exclude_none=True) | (
                                     {"password": body.password.get_secret_value()} if body.password else {}))

    async def test_mqtt_publish(self) -> MqttPublishTestOut:
        return await self.t.send("POST", "/integrations/mqtt-publish/test", MqttPublishTestOut)

    async def remove_mqtt_publish(self) -> None:
        await self.t.send("DELETE", "/integrations/mqtt-publish")

    async def edges(self) -> EdgePage:
        """The company's site edges, revoked ones included."""
        return await self.t.get("/edges", EdgePage)

    async def register_edge(self, body: EdgeIn) -> EdgeCreated:
        """The answer carries the broker password and the edge's API token, this once."""
        return await self.t.send("POST", "/edges", EdgeCreated, json=body.model_dump(mode="json"))

    async def rotate_edge(self, edge_id: UUID) -> EdgeCreated:
        """New credentials, shown once; the old ones stop working at once."""
        return await self.t.send("POST", f"/edges/{edge_id}/rotate", EdgeCreated)

    async def revoke_edge(self, edge_id: UUID) -> EdgeOut:
        return await self.t.send("POST", f"/edges/{edge_id}/revoke", EdgeOut)
