"""Container health check: the API's own health endpoint answers 200, or 503 `standby_superseded` (a
superseded primary's api serves on purpose: nginx passes its refusals on to the terminals)."""

import json
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8080/api/v1/system/health", timeout=4) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except urllib.error.HTTPError as exc:
    try:
        sys.exit(0 if exc.code == 503 and json.loads(exc.read()).get("code") == "standby_superseded" else 1)
    except ValueError:
        sys.exit(1)
except OSError:
    sys.exit(1)
