"""Operations for members with `admin.system`: license, backups and restores, configuration."""

from __future__ import annotations

from uuid import UUID

from factoryos.client.ops_models import BackupItem, BackupList, LicenseInfo, RestoreJob, SystemConfig
from factoryos.client.transport import Transport

# A backup runs pg_dump before it answers: far longer than an ordinary request may take.
BACKUP_TIMEOUT = 3600.0


class OpsApi:
    t: Transport

    async def license(self) -> LicenseInfo:
        return await self.t.get("/system/license", LicenseInfo)

    async def activate_license(self, key: str) -> LicenseInfo:
        """Raises ClientError `license_signature_invalid`, `license_expired`, `license_malformed`, … (422)."""
        return await self.t.send("PUT", "/system/license", LicenseInfo, json={"key": key})

    async def system_config(self) -> SystemConfig:
        return await self.t.get("/system/config", SystemConfig)

    async def backups(self) -> BackupList:
        return await self.t.get("/backup", BackupList)

    async def create_backup(self, label: str = "manual") -> BackupItem:
        return await self.t.send("POST", "/backup/create", BackupItem, json={"label": label}, timeout=BACKUP_TIMEOUT)

    async def start_restore(self, name: str, *, confirm: str) -> RestoreJob:
        """Start replacing the database with backup `name` (`confirm` is the name typed again)."""
        return await self.t.send("POST", "/backup/restore", RestoreJob, json={"name": name, "confirm": confirm})

    async def restore_job(self, job_id: UUID) -> RestoreJob:
        return await self.t.get(f"/backup/restore/{job_id}", RestoreJob)
