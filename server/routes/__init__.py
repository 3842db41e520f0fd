"""All API routers, in the order they appear in the OpenAPI document."""

from server.api import Router
from server.routes import audit, backup, license, restore, system
from server.routes import auth, invites, setup, users
from server.routes import certifications
from server.routes import catalog, downtime, kpis, machines, production, rejections, shifts, sites
from server.routes import connections
from server.routes import reports
from server.routes import anomalies
from server.routes import jobs, onboarding
from server.routes import products
from server.routes import dispatch
from server.routes import orders
from server.routes import handover
from server.routes import sso
from server.routes import maintenance
from server.routes import nonconformances
from server.routes import webhooks
from server.routes import mqtt_publish
from server.routes import quality
from server.routes import materials, trace
from server.routes import sso_oidc
from server.routes import scim
from server.routes import sso_saml
from server.routes import sso_reauth
from server.routes import edges

ROUTERS: list[Router] = [system.router, license.router, backup.router, restore.router, audit.router]
ROUTERS += [auth.router, setup.router, invites.router, users.router]
ROUTERS += [certifications.router]

ROUTERS += [sites.router, machines.router, shifts.router, production.router, downtime.router, rejections.router,
            kpis.router, catalog.router]
ROUTERS += [anomalies.router]
ROUTERS += [reports.router]
ROUTERS += [connections.router]
ROUTERS += [onboarding.router, jobs.router]
ROUTERS += [dispatch.router]
ROUTERS += [orders.router]
ROUTERS += [products.router]
ROUTERS += [handover.router]
ROUTERS += [nonconformances.router, nonconformances.capa_router]
ROUTERS += [quality.router]
ROUTERS += [materials.router, trace.router, trace.files]
ROUTERS += [webhooks.router]
ROUTERS += [mqtt_publish.router]
ROUTERS += [maintenance.router, maintenance.reports]
ROUTERS += [sso_oidc.router]
ROUTERS += [sso_saml.router]
ROUTERS += [sso_reauth.router]
ROUTERS += [sso.auth_router, sso.router]
ROUTERS += [scim.admin_router, scim.router]
ROUTERS += [edges.router, edges.edge_router]
