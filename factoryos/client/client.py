"""`FactoryClient`: the typed async client of the FactoryOS API (used by the TUI and CLI)."""

from __future__ import annotations

from types import TracebackType

import httpx

from factoryos.client.api_admin import AdminApi
from factoryos.client.api_auth import AuthApi
from factoryos.client.api_integrations import IntegrationsApi
from factoryos.client.api_jobs import JobsApi
from factoryos.client.api_maintenance import MaintenanceApi
from factoryos.client.api_materials import MaterialsApi
from factoryos.client.api_nonconformances import NonconformancesApi
from factoryos.client.api_onboarding import OnboardingApi
from factoryos.client.api_ops import OpsApi
from factoryos.client.api_orders import OrdersApi
from factoryos.client.api_plant import PlantApi
from factoryos.client.api_production import ProductionApi
from factoryos.client.api_products import ProductsApi
from factoryos.client.api_quality import QualityApi
from factoryos.client.api_runs import RunsApi
from factoryos.client.api_site_scope import SiteScopeApi
from factoryos.client.api_sso import SsoApi
from factoryos.client.api_sso_oidc import SsoDeviceApi
from factoryos.client.api_sso_reauth import SsoReauthApi
from factoryos.client.api_system import SystemApi
from factoryos.client.transport import Transport
from factoryos.client.trust import Trust


class FactoryClient(AuthApi, AdminApi, PlantApi, ProductionApi, SystemApi, JobsApi, OnboardingApi, OpsApi,
                    OrdersApi, ProductsApi, RunsApi, SsoDeviceApi, IntegrationsApi, SsoApi,
                    MaintenanceApi, QualityApi, NonconformancesApi, MaterialsApi, SiteScopeApi, SsoReauthApi):
    """One server and at most one signed-in session::

        async with FactoryClient("https://factory.lan", trust=Trust(ca_file=...)) as api:
            await api.login(email, password)
            live = await api.live(site_id)
    """

    def __init__(
        self,
        server: str,
        *,
        trust: Trust | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.t = Transport(server, trust=trust, timeout=timeout, transport=transport)

    @property
    def server(self) -> str:
        return self.t.server

    async def aclose(self) -> None:
        await self.t.aclose()

    async def __aenter__(self) -> FactoryClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
