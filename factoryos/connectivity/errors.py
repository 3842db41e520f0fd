"""Errors raised while talking to machines.

Poll failures never escape the poller: they become a machine's `Health.last_error`
and an `offline` state. `code` is stable so the API and TUI can explain them.
"""

from __future__ import annotations

from factoryos.errors import FactoryOSError


class ConnectivityError(FactoryOSError):
    """A machine or endpoint could not be read."""

    code = "connectivity_error"
    status = 502
    title = "Machine connection failed"


class EndpointUnavailable(ConnectivityError):
    """The endpoint (PLC, gateway, OPC-UA server) cannot be reached or dropped the link."""

    code = "endpoint_unavailable"


class CertificateRejected(ConnectivityError):
    """The OPC-UA server refused our client certificate (or we refused its certificate)."""

    code = "opcua_certificate_rejected"


class AuthenticationFailed(ConnectivityError):
    """The OPC-UA server refused the configured user name and password."""

    code = "opcua_authentication_failed"


class SignalReadFailed(ConnectivityError):
    """The endpoint answered, but one machine's signals could not be read or decoded."""

    code = "signal_read_failed"


class CertificateInvalid(ConnectivityError):
    """Our own certificate, key or the pinned server certificate cannot be loaded."""

    code = "opcua_certificate_invalid"
