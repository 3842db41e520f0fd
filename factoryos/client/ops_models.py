"""Operations shapes the client returns: license, backups and restores, health and configuration.

The server's own models, re-exported under the client's names (`LicenseInfo` is
`LicenseStatus`, `Limits` is `LicenseLimits`, `BackupItem` is `BackupOut`, `RestoreJob` is
`RestoreOut`).
"""

from __future__ import annotations

from typing import Any

from factoryos.licensing.models import LicenseLimits as Limits
from factoryos.licensing.models import LicenseStatus as LicenseInfo
from factoryos.system.models import BackupList, DatabaseConfig, SystemConfig
from factoryos.system.models import BackupOut as BackupItem
from factoryos.system.models import RestoreOut as RestoreJob

__all__ = ["BackupItem", "BackupList", "DatabaseConfig", "Health", "LicenseInfo", "Limits", "RestoreJob", "SystemConfig"]

# GET /system/health answers 503 with a body too, so the client keeps it as parsed JSON
# (its documented shape is `factoryos.system.models.Health`).
Health = dict[str, Any]
