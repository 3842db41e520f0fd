"""Server facts anyone may read: health (used to test a connection before signing in)."""

from __future__ import annotations

from typing import Any

from factoryos.client.transport import Transport


class SystemApi:
    t: Transport

    async def health(self) -> dict[str, Any]:
        response = await self.t.call("GET", "/system/health", auth=False)
        return response.json()
