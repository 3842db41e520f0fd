"""Who is signed in where: the client, the live profile (`/auth/me`) and the outbox."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from factoryos.client import FactoryClient, OfflineQueue, Outbox
from factoryos.client.models import Me

if TYPE_CHECKING:
    from tui.reference import PlantReference


@dataclass
class Session:
    api: FactoryClient
    me: Me
    outbox: Outbox
    reference: PlantReference | None = None  # kept so operator screens work through an outage

    @classmethod
    def open(cls, api: FactoryClient, me: Me, outbox_root: Path) -> Session:
        # Queued entries belong to one person on one server: never send them as someone else.
        server = hashlib.sha256(api.server.encode()).hexdigest()[:16]
        queue = OfflineQueue(outbox_root / server / str(me.account.id))
        return cls(api=api, me=me, outbox=Outbox(api.t, queue))

    @property
    def who(self) -> str:
        return self.me.account.display_name or self.me.account.email

    def can(self, permission: str) -> bool:
        return self.me.can(permission)
