"""The typed HTTP client of the FactoryOS API: what the TUI and remote CLI commands use.

It never touches the database. Errors arrive as `ClientError(code, detail, field,
status)`; operator entries go through `Outbox` to survive outages.
"""

from factoryos.client.api_auth import companies_of
from factoryos.client.client import FactoryClient
from factoryos.client.errors import ClientError, ServerUnreachable, SessionEnded, UntrustedCertificate
from factoryos.client.outbox import DrainReport, Outbox, Outcome
from factoryos.client.profile import ClientProfile, default_config_path, default_outbox_dir, load_profile, save_profile
from factoryos.client.queue import OfflineQueue, Pending
from factoryos.client.transport import normalize_server_url
from factoryos.client.trust import Trust, format_fingerprint, normalize_fingerprint

__all__ = [
    "ClientError", "ClientProfile", "DrainReport", "FactoryClient", "OfflineQueue", "Outbox", "Outcome", "Pending",
    "ServerUnreachable", "SessionEnded", "Trust", "UntrustedCertificate", "companies_of", "default_config_path",
    "default_outbox_dir", "format_fingerprint", "load_profile", "normalize_fingerprint", "normalize_server_url",
    "save_profile",
]
