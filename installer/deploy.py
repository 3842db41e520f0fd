"""`factoryos install`: the ordered steps, shared state between them, and rollback.

UI-agnostic: the CLI runs `Installer.steps()` one by one, shows each as a ✓/✗ line and
calls `rollback()` when one raises, so a failed first install leaves nothing behind and a
failed re-run restores the previous configuration.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors

from factoryos import __version__
from factoryos.licensing import store as license_store
from factoryos.licensing.hostid import host_id
from factoryos.licensing.keys import load_public_key
from installer import bundle as bundle_mod
from installer import compose_render, envfile, images, network, tls
from installer.checks import CheckResult, Requirements, run_checks
from installer.errors import InstallError
from installer.health import base_url, wait_healthy
from installer.layout import DEFAULT_DIR, Layout
from installer.stack import Stack
from installer.undo import UndoStack

log = logging.getLogger(__name__)


class Progress(Protocol):
    def __call__(self, message: str, fraction: float | None = None) -> None: ...


@dataclass(frozen=True)
class AdminAccount:
    """The owner account and company the first install creates."""

    email: str
    company: str
    city: str
    industry: str = "Manufacturing"
    company_size: str = "11-50"
    timezone: str | None = None


@dataclass(frozen=True)
class InstallOptions:
    directory: Path = DEFAULT_DIR
    bundle: Path | None = None
    bind: str | None = None
    https_port: int | None = None  # None: the stored one on a re-run, else 443
    cert: Path | None = None
    key: Path | None = None
    license: str | None = None
    log_level: str = "info"
    wait_timeout: int = 600
    admin: AdminAccount | None = None
    requirements: Requirements = field(default_factory=Requirements)


@dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[Progress], str]


@dataclass
class Summary:
    url: str = ""
    ca_file: Path | None = None
    credentials_file: Path | None = None
    backups_dir: Path | None = None
    license: str = ""
    admin_email: str = ""
    admin_password: str = ""  # shown once, on the install that created the account
    health: dict[str, Any] = field(default_factory=dict)
    generated_secrets: list[str] = field(default_factory=list)


class Installer:
    def __init__(
        self,
        options: InstallOptions,
        *,
        client_factory: Callable[[], docker.DockerClient] = docker.from_env,
        docker_cli: str = "docker",
    ) -> None:
        self.options = options
        self.layout = Layout(options.directory.resolve())
        self.stack = Stack(self.layout.root, docker_cli=docker_cli)
        self.client_factory = client_factory
        self.docker_cli = docker_cli
        self.undo = UndoStack()
        self.previous = self.layout.read_state()
        self.version = __version__
        # An .env without install.json: data kept by `uninstall --keep-data`, never to be wiped.
        self.kept_data = self.layout.env_file.exists()
        stored = envfile.read_env(self.layout.env_file) if self.kept_data else {}
        self.bind_ip = (
            network.validate_bind(options.bind)
            if options.bind
            else stored.get("FACTORYOS_BIND_IP") or network.detect_lan_ip()
        )
        self.https_port = options.https_port or int(stored.get("FACTORYOS_HTTPS_PORT") or 443)
        self.check_results: list[CheckResult] = []
        self.summary = Summary()
        self._restart_recorded = False
        if options.admin is None and not self.layout.credentials_file.exists() and not self.rerun:
            raise InstallError(
                "the first install creates the owner account: pass --admin-email, --company and --city",
                code="admin_required",
            )

    @property
    def rerun(self) -> bool:
        return self.previous is not None

    @property
    def url_host(self) -> str:
        return network.detect_lan_ip() if self.bind_ip == "0.0.0.0" else self.bind_ip

    def steps(self) -> list[Step]:
        return [
            Step("System check", self.check_system),
            Step("Images", self.provide_images),
            Step("Configuration", self.configure),
            Step("License", self.activate_license),
            Step("Start services", self.start_services),
            Step("Owner account", self.create_owner),
            Step("Health", self.wait_for_health),
        ]

    # 1. system check -------------------------------------------------------------------
    def check_system(self, progress: Progress) -> str:
        exempt = sorted(self.stack.published_ports()) if self.rerun else []
        self.check_results = run_checks(
            install_dir=self.layout.root,
            bind_ip=self.bind_ip,
            ports=[self.https_port],
            exempt_ports=exempt,
            req=self.options.requirements,
            client_factory=self.client_factory,
            docker_cli=self.docker_cli,
            fresh=not self.kept_data,
        )
        failed = [r for r in self.check_results if r.failed]
        if failed:
            raise InstallError(
                f"{len(failed)} system check(s) failed ({', '.join(r.name for r in failed)}): fix them as shown below",
                code="system_check_failed",
            )
        return f"{len(self.check_results)} checks passed"

    # 2. images -------------------------------------------------------------------------
    def provide_images(self, progress: Progress) -> str:
        client = self.client_factory()
        try:
            if self.options.bundle is not None:
                progress("verifying bundle checksums")
                self.undo.remove_if_new(self.layout.root)
                self.layout.root.mkdir(parents=True, exist_ok=True)
                manifest = bundle_mod.verify_bundle(self.options.bundle, public_key=load_public_key())
                self.version = manifest.version
                target = self.layout.bundles_dir / manifest.version
                self.undo.remove_if_new(target)
                already = set(manifest.images) - set(images.missing_images(client, manifest.version))
                progress("unpacking bundle")
                bundle_mod.extract_bundle(self.options.bundle, target)
                progress("loading images (docker load)")
                bundle_mod.load_images(target / bundle_mod.IMAGES, self.docker_cli)
                for tag in set(manifest.images) - already:
                    self.undo.push(f"remove image {tag}", lambda tag=tag: _remove_image(self.client_factory, tag))
                (target / bundle_mod.IMAGES).unlink()  # loaded now; the engine keeps the layers
            missing = images.missing_images(client, self.version)
        finally:
            client.close()
        if missing:
            raise InstallError(
                f"image(s) {', '.join(missing)} not in the Docker engine: install from the offline bundle with "
                "--bundle FILE (build one with `factoryos bundle build` on a connected machine)",
                code="image_missing",
            )
        return f"FactoryOS {self.version}" + (f" loaded from {self.options.bundle.name}" if self.options.bundle else "")

    # 3. configuration ------------------------------------------------------------------
    def configure(self, progress: Progress) -> str:
        layout = self.layout
        self.record_restart()  # undone last: after every file below is restored
        self.undo.remove_if_new(layout.root)
        layout.root.mkdir(parents=True, exist_ok=True)
        layout.root.chmod(0o755)
        self.undo.restore_file(layout.env_file)
        env = envfile.ensure_env(
            layout.env_file,
            {
                "FACTORYOS_BIND_IP": self.bind_ip,
                "FACTORYOS_HTTPS_PORT": str(self.https_port),
                "FACTORYOS_LOG_LEVEL": self.options.log_level,
            },
        )
        self.summary.generated_secrets = env.generated
        progress("TLS certificate")
        self.undo.remove_if_new(layout.tls.directory)
        for path in (layout.tls.server_cert, layout.tls.server_key):
            self.undo.restore_file(path)
        names = [*network.host_names(), "localhost"]
        ips = list(dict.fromkeys([self.url_host, "127.0.0.1"]))
        if self.options.cert and self.options.key:
            uncovered = tls.install_user_certificate(layout.tls, self.options.cert, self.options.key, [self.url_host])
            tls_note = "your certificate" + (f" (does not name {', '.join(uncovered)})" if uncovered else "")
            self.summary.ca_file = None
        elif self.options.cert or self.options.key:
            raise InstallError("--cert and --key go together: pass both or neither", code="tls_options")
        else:
            tls.ensure_self_signed(layout.tls, ips, names)
            tls_note = "self-signed for " + ", ".join([*ips, *names])
            self.summary.ca_file = layout.tls.ca_cert
        self.undo.remove_if_new(layout.license_dir)
        layout.license_dir.mkdir(exist_ok=True)
        self.undo.restore_file(self.stack.compose_file)
        write_compose(layout, version=self.version, bind_ip=self.bind_ip, https_port=self.https_port,
                      log_level=self.options.log_level)  # fmt: skip
        kept = "secrets kept" if not env.generated else f"{len(env.generated)} secrets generated"
        return f".env (0600, {kept}); TLS {tls_note}"

    # 6. license (before boot: the API reads it at start) -----------------------------------
    def activate_license(self, progress: Progress) -> str:
        path = self.layout.license_dir / license_store.LICENSE_FILE_NAME
        if self.options.license:
            self.undo.restore_file(path)
            text = license_store.read_license_argument(self.options.license)
            document = license_store.activate(text, path)
        else:
            document = license_store.load_active(path, allow_expired=True)
        if document is None:
            self.summary.license = "none (Core edition limits apply until one is activated)"
            return "no license given: activate later with `factoryos license activate FILE|KEY`"
        self.summary.license = f"{document.edition.value} for {document.customer}, until {document.expires_at:%Y-%m-%d}"
        return self.summary.license

    # 7. boot ---------------------------------------------------------------------------
    def start_services(self, progress: Progress) -> str:
        if not self.rerun:
            wipe = not self.kept_data
            self.undo.push(
                "remove containers" + (" and volumes" if wipe else ""), lambda: self.stack.down(volumes=wipe)
            )
        progress("docker compose up --wait (first start initialises the database)")
        self.stack.up(self.options.wait_timeout)
        return "postgres, api, nginx healthy"

    # 5. first admin (roles and migrations ran in the api container's entrypoint) ------------
    def create_owner(self, progress: Progress) -> str:
        credentials = self.layout.credentials_file
        if credentials.exists():
            return f"kept ({credentials})"
        admin = self.options.admin
        if admin is None:
            return "skipped: no --admin-email given on this re-run"
        password = secrets.token_urlsafe(18)
        args = ["exec", "-T", "api", "factoryos", "user", "create-admin", "--email", admin.email,
                "--name", "Owner", "--company", admin.company, "--industry", admin.industry,
                "--size", admin.company_size, "--city", admin.city, "--password-stdin", "--json"]  # fmt: skip
        if admin.timezone:
            args += ["--timezone", admin.timezone]
        progress("factoryos user create-admin")
        run = subprocess.run(
            self.stack.command(*args), input=password + "\n", capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            raise InstallError(f"creating the owner account failed: {(run.stderr or run.stdout).strip()[-600:]}",
                               code="admin_failed")  # fmt: skip
        self.undo.remove_if_new(credentials)
        url = base_url(self.url_host, self.https_port)
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"FactoryOS owner account (change the password after the first sign-in)\n"
                         f"url: {url}\nemail: {admin.email}\npassword: {password}\n")  # fmt: skip
        self.summary.admin_email, self.summary.admin_password = admin.email, password
        return f"{admin.email} owns {admin.company!r}"

    def wait_for_health(self, progress: Progress) -> str:
        url = base_url(self.url_host, self.https_port)
        timeout = float(self.options.wait_timeout)
        health = wait_healthy(
            url,
            self.summary.ca_file,
            timeout=timeout,
            on_attempt=lambda elapsed, last: progress(f"waiting for {url} ({last})", min(elapsed / timeout, 1.0)),
        )
        self.summary.url = url
        self.summary.health = health
        self.summary.credentials_file = self.layout.credentials_file
        self.summary.backups_dir = self.layout.backups_dir
        self._commit()
        return f"{url} answers: {health.get('status', '?')}"

    # ------------------------------------------------------------------------------------
    def record_restart(self) -> None:
        """On a re-run, undoing ends by starting the restored previous configuration."""
        if self.rerun and not self._restart_recorded:
            self._restart_recorded = True
            self.undo.push("restart the previous configuration", lambda: self.stack.up(self.options.wait_timeout))

    def new_state(self) -> dict[str, Any]:
        state = dict(self.previous or {})
        state.update(
            version=self.version,
            bind_ip=self.bind_ip,
            https_port=self.https_port,
            url=self.summary.url,
            updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        state.setdefault("installed_at", state["updated_at"])
        return state

    def _commit(self) -> None:
        self.layout.backups_dir.mkdir(mode=0o700, exist_ok=True)
        self.layout.write_state(self.new_state())
        self.undo.clear()

    def rollback(self) -> list[str]:
        return self.undo.run()


def write_compose(layout: Layout, *, version: str, bind_ip: str, https_port: int, log_level: str) -> Path:
    params = compose_render.ComposeParams(
        version=version,
        bind_ip=bind_ip,
        https_port=https_port,
        tls_dir=str(layout.tls.directory),
        license_dir=str(layout.license_dir),
        host_id=host_id(),
        log_level=log_level,
    )
    return compose_render.write(params, layout.root)


def _remove_image(client_factory: Callable[[], docker.DockerClient], tag: str) -> None:
    client = client_factory()
    try:
        client.images.remove(tag, force=True)  # untag even if a failed start still uses it
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()
