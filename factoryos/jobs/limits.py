"""How big an import may be. The file travels base64-encoded inside a JSON body, so the
server's request body limit (`FACTORYOS_MAX_BODY_BYTES`) caps it at about three quarters."""

from __future__ import annotations

MAX_ROWS = 5000
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024  # an XLSX is a zip: refuse bombs before openpyxl expands them
MAX_LISTED_ERRORS = 1000
_JSON_OVERHEAD = 4096  # file name, flags and quoting around the base64 text


def max_file_bytes(max_body_bytes: int) -> int:
    """The largest file that fits in a request body of `max_body_bytes`."""
    return max(0, max_body_bytes - _JSON_OVERHEAD) // 4 * 3


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"
