"""All API routers, in the order they appear in the OpenAPI document."""

from server.api import Router
from server.routes import system

ROUTERS: list[Router] = [system.router]
