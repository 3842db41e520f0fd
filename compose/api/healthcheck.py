"""Container health check: the API's own health endpoint answers 200."""

import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8080/api/v1/system/health", timeout=4) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except OSError:
    sys.exit(1)
