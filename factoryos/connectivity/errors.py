"""Errors raised while talking to machines.

Poll failures never escape the poller: they become a machine's `Health.last_error`
and an `offline` state. `code` is stable so the API and TUI can explain them.
"""

from __future__ import annotations

import errno
import re
import socket

from factoryos.errors import FactoryOSError

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused (nothing listens on that port)",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTDOWN: "host is down",
    errno.ECONNRESET: "connection reset by the device",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by the device",
    errno.EADDRNOTAVAIL: "address not available on this server",
    errno.EACCES: "not allowed by this server (firewall?)",
    errno.EPERM: "not allowed by this server (firewall?)",
}


def os_reason(exc: BaseException) -> str:
    """Why a connection failed, in a plant admin's words ("connection refused", "timed out").

    asyncio reports a failed connect to several addresses of one name as a plain OSError
    whose text lists "[Errno N]" for each: the first one found is used.
    """
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_AGAIN:
            return "host name could not be looked up (name server not answering)"
        return "host name not found"
    if isinstance(exc, TimeoutError) and not exc.errno:
        return "timed out"
    if isinstance(exc, OSError):
        code = exc.errno
        if code is None and (found := re.search(r"\[Errno (\d+)\]", str(exc))):
            code = int(found.group(1))
        if code in _ERRNO_WORDS:
            return _ERRNO_WORDS[code]
        if exc.strerror:
            return exc.strerror.lower()
    return str(exc) or type(exc).__name__


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


class BrokerAuthenticationFailed(ConnectivityError):
    """The MQTT broker refused the configured user name and password (or client certificate)."""

    code = "mqtt_authentication_failed"


class BrokerCertificateInvalid(ConnectivityError):
    """The CA, client certificate or key configured for an mqtts:// broker cannot be loaded."""

    code = "mqtt_certificate_invalid"


class NoDataPublished(ConnectivityError):
    """The broker is reachable, but the machine has published nothing usable: not born yet, dead
    (Sparkplug NDEATH/DDEATH), or silent for longer than allowed."""

    code = "mqtt_no_data"
