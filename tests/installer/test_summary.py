"""The installer's closing status report, from a real server's health answer."""

from __future__ import annotations

from types import SimpleNamespace

from cli.install import _print_summary
from cli.output import console
from factoryos.client.health_rows import health_parts
from installer.deploy import Summary


def test_summary_reads_the_health_as_one_line_per_part(http) -> None:
    health = http.get("/api/v1/system/health").json()
    rows = health_parts(health)
    assert [key for key, *_ in rows] == ["server", "database", "migrations", "poller", "duties", "disk", "backup",
                                       "license"]
    assert dict((k, st) for k, _, st, _ in rows)["database"] == "OK"
    summary = Summary(url="https://10.0.0.5", license="none", health=health, admin_email="o@x.example",
                      admin_password="once-only-secret")
    with console.capture() as out:
        _print_summary(SimpleNamespace(version="9.9", summary=summary))
    text = out.get()
    assert "FactoryOS 9.9 is running at https://10.0.0.5" in text
    assert "o@x.example / once-only-secret" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "OK" in lines["Database"] and f"at {health['migrations']['current']}" in lines["Migrations"]
    assert "evaluation, Core" in lines["License"]
    assert "OK" in lines["Duties"] and "held since" in lines["Duties"]  # the session server, by the duty lock
    assert "{" not in text, "no raw JSON in front of the admin"
