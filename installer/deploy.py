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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors

from factoryos import __version__
from factoryos.licensing import LicenseError
from factoryos.licensing import store as license_store
from factoryos.licensing.hostid import host_id
from factoryos.licensing.keys import load_public_key
from installer import bundle as bundle_mod
from installer import compose_render, envfile, images, network, standby_compose, tls
from installer.checks import CheckResult, Requirements, run_checks
from installer.errors import BundleError, InstallError
from installer.health import base_url, wait_healthy
from installer.layout import DEFAULT_DIR, Layout
from installer.stack import PROJECT, PROJECT_ENV, Stack, project_of
from installer.standby_pair import PairFile
from installer.undo import UndoStack

log = logging.getLogger(__name__)
_PROJECT_LABEL = "com.docker.compose.project"
API_UID = 10001  # the api image's `factoryos` user and group (compose/api/Dockerfile)


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


def host_timezone(localtime: Path = Path("/etc/localtime"), named: Path = Path("/etc/timezone")) -> str | None:
    """The IANA zone this host is set to (the main site's default), or None if it cannot tell."""
    try:
        target = str(localtime.resolve())
        if "/zoneinfo/" in target:
            return target.split("/zoneinfo/", 1)[1]
        return named.read_text().strip() or None
    except OSError:
        return None


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
    allow_unsigned: bool = False  # accept a bundle without the vendor's signature
    check_only: bool = False  # `install --check`: the system check alone, nothing written
    backup_copy_to: str | None = None  # a folder on other storage; "off" stops copying; None keeps
    force: bool = False  # upgrade: accept a bundle of the installed (or an older) version
    # A warm standby of the primary whose `factoryos standby pair` wrote `pair_file`; at HOST[:PORT] when
    # given, else at the address in the file.
    pair_file: Path | None = None
    standby_of: str | None = None
    project: str | None = None  # the Compose project; None: as installed, else "factoryos"


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
        self.project = options.project or project_of(self.layout.root)
        self.stack = Stack(self.layout.root, docker_cli=docker_cli, project=self.project)
        self.pair = PairFile.read(options.pair_file) if options.pair_file is not None else None
        self.client_factory = client_factory
        self.docker_cli = docker_cli
        self.undo = UndoStack()
        try:
            self.previous = self.layout.read_state()
            # An .env without install.json: data kept by `uninstall --keep-data`, never to be wiped.
            self.kept_data = self.layout.env_file.exists()
            stored = envfile.read_env(self.layout.env_file) if self.kept_data else {}
            # Data kept by `uninstall --keep-data` holds the owner, whose note may be gone since.
            has_owner = self.layout.has_owner(self.previous) or self.kept_data
        except PermissionError as exc:
            if not options.check_only:  # the check names the file and the fix
                raise InstallError(f"{exc.filename or self.layout.root} is not readable by this user: run as root "
                                   "(sudo factoryos …), as the install that wrote it was",
                                   code="permission_denied") from None  # fmt: skip
            self.previous, self.kept_data, stored, has_owner = None, True, {}, True
        # Without a bundle, the version installed (or kept by `uninstall --keep-data`) runs again,
        # whatever version this CLI is.
        self.version = str((self.previous or {}).get("version") or stored.get(envfile.VERSION) or __version__)
        self.bind_ip = (
            network.validate_bind(options.bind)
            if options.bind
            else stored.get("FACTORYOS_BIND_IP") or network.detect_lan_ip()
        )
        self.https_port = options.https_port or int(stored.get("FACTORYOS_HTTPS_PORT") or 443)
        self.check_results: list[CheckResult] = []
        self.summary = Summary()
        self.manifest: bundle_mod.Manifest | None = None
        self._restart_recorded = False
        self.has_owner = has_owner
        if stored.get(standby_compose.STANDBY_OF) and self.pair is None and not options.check_only:
            # Its database is read-only: the api would fail to start, and the rollback stop the standby.
            raise InstallError(f"{self.layout.root} holds a warm standby of {stored[standby_compose.STANDBY_OF]}: "
                               "promote it first (`factoryos standby promote --install-dir`), or re-run with "
                               "--pair-file", code="standby_failed")  # fmt: skip
        if self.pair is not None:
            self.has_owner = True  # the primary's database, owner included, is what the standby copies
        elif options.admin is None and not options.check_only and not has_owner and not self.rerun:
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
        if self.pair is not None:
            return [
                Step("System check", self.check_system),
                Step("Primary", self.check_primary),
                *([Step("Bundle", self.verify_bundle)] if self.options.bundle is not None else []),
                Step("Images", self.provide_images),
                Step("Configuration", self.configure),
                Step("License", self.activate_license),
                Step("Copy of the primary", self.clone_primary),
                Step("Standby database", self.start_standby),
            ]
        return [
            Step("System check", self.check_system),
            *([Step("Bundle", self.verify_bundle)] if self.options.bundle is not None else []),
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
            project=self.project,
        )
        failed = [r for r in self.check_results if r.failed]
        if failed:
            raise InstallError(
                f"{len(failed)} system check(s) failed ({', '.join(r.name for r in failed)}): fix them as shown below",
                code="system_check_failed",
            )
        return f"{len(self.check_results)} checks passed"

    # 2. bundle: checked in full before anything is written or dumped -----------------------
    def verify_bundle(self, progress: Progress) -> str:
        assert self.options.bundle is not None
        progress("verifying the signature and every part's SHA-256")
        manifest = bundle_mod.verify_bundle(
            self.options.bundle, public_key=load_public_key(), require_signature=not self.options.allow_unsigned
        )
        if not manifest.image_ids and not self.options.allow_unsigned:
            raise BundleError(
                "the bundle's manifest records no image IDs (an older bundle format): rebuild it, "
                "or accept it with --allow-unsigned", code="bundle_image_ids")  # fmt: skip
        self.manifest = manifest
        self.version = manifest.version
        state = "signed by the vendor" if manifest.signed else "UNSIGNED, accepted by --allow-unsigned"
        return f"FactoryOS {manifest.version}, {len(manifest.files)} parts intact, {state}"

    # 3. images -------------------------------------------------------------------------
    def provide_images(self, progress: Progress) -> str:
        client = self.client_factory()
        try:
            if self.options.bundle is not None:
                manifest = self.manifest
                assert manifest is not None, "the Bundle step runs first"
                self.undo.remove_if_new(self.layout.root)
                self.layout.root.mkdir(parents=True, exist_ok=True)
                target = self.layout.bundles_dir / manifest.version
                self.undo.remove_if_new(target)
                already = set(manifest.images) - set(images.missing_images(client, manifest.version))
                progress("unpacking bundle")
                bundle_mod.extract_bundle(self.options.bundle, target, manifest)
                progress("loading images (docker load)")
                bundle_mod.load_images(target / bundle_mod.IMAGES, self.docker_cli)
                for tag in set(manifest.images) - already:
                    self.undo.push(f"remove image {tag}", lambda tag=tag: _remove_image(self.client_factory, tag))
                (target / bundle_mod.IMAGES).unlink()  # loaded now; the engine keeps the layers
                progress("checking the loaded images' IDs")
                bundle_mod.check_loaded_images(client, manifest, allow_unrecorded=self.options.allow_unsigned)
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
        if self.pair is not None:  # the standby's database is the primary's: its roles' passwords, its keys
            envfile.adopt_secrets(layout.env_file, self.pair.secrets)
        stored = envfile.read_env(layout.env_file) if layout.env_file.exists() else {}
        subnet = stored.get(envfile.FRONTEND_SUBNET) or self.free_frontend_subnet()
        if self.project != PROJECT:  # a second installation on this engine: its own names
            envfile.set_values(layout.env_file, {PROJECT_ENV: self.project,
                                                 standby_compose.VOLUME_ENV: f"{self.project}_pgdata"})  # fmt: skip
        if self.pair is not None and not self.rerun:
            host, port = self.primary
            envfile.set_values(layout.env_file, {standby_compose.STANDBY_OF: f"{host}:{port}"})
        copy_to = self.backup_copy_folder(stored)
        env = envfile.ensure_env(
            layout.env_file,
            {
                "FACTORYOS_BIND_IP": self.bind_ip,
                "FACTORYOS_HTTPS_PORT": str(self.https_port),
                "FACTORYOS_LOG_LEVEL": self.options.log_level,
                envfile.FRONTEND_SUBNET: subnet,
                envfile.VERSION: self.version,
            },
        )
        envfile.set_values(layout.env_file, {envfile.BACKUP_COPY_TO: copy_to})  # "" is a value here: none
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
        for folder, mode in ((layout.license_dir, 0o750), (layout.backups_dir, 0o700),
                             (layout.first_sign_in_dir, 0o700)):
            self.undo.remove_if_new(folder)
            folder.mkdir(mode=mode, exist_ok=True)
            folder.chmod(mode)  # backups hold every secret of the database: never world-readable
            give_to_api(folder)
        self.undo.restore_file(self.stack.compose_file)
        write_compose(layout, version=self.version, bind_ip=self.bind_ip, https_port=self.https_port,
                      log_level=self.options.log_level, frontend_subnet=subnet, backup_copy_to=copy_to)  # fmt: skip
        kept = "secrets kept" if not env.generated else f"{len(env.generated)} secrets generated"
        copies = f"; backups also copied to {copy_to}" if copy_to else ""
        return f".env (0600, {kept}); TLS {tls_note}{copies}"

    def backup_copy_folder(self, stored: dict[str, str]) -> str:
        """`--backup-copy-to`: a folder that exists (the NFS/SMB share mounted), given to the api."""
        wanted = self.options.backup_copy_to
        if wanted is None:
            return stored.get(envfile.BACKUP_COPY_TO, "")
        if wanted.strip().lower() in ("", "off", "none"):
            return ""
        folder = Path(wanted).expanduser().resolve()
        if not folder.is_dir():
            raise InstallError(f"--backup-copy-to {wanted}: no such folder; mount the share there first",
                               code="backup_copy_missing")  # fmt: skip
        if folder == self.layout.backups_dir or self.layout.root in folder.parents:
            raise InstallError("--backup-copy-to must be on other storage than the installation",
                               code="backup_copy_same")  # fmt: skip
        try:
            give_to_api(folder)
        except PermissionError:  # e.g. an NFS export with root squashed: the share's owner must allow uid 10001
            log.warning("could not give %s to uid %d: let that uid write there", folder, API_UID)
        return str(folder)

    def free_frontend_subnet(self) -> str:
        """A subnet for nginx and the api that no route of the host and no other network of
        the engine uses (ours are recreated by Compose, so they do not count)."""
        taken: list[str] = [str(net) for net in network.host_networks()]
        client = self.client_factory()
        try:
            for net in client.api.networks():
                if (net.get("Labels") or {}).get(_PROJECT_LABEL) == self.stack.project:
                    continue
                taken += [c["Subnet"] for c in (net.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]
        except docker.errors.DockerException as exc:
            raise InstallError(f"could not list the engine's networks: {exc}", code="engine_unreachable") from None
        finally:
            client.close()
        return network.choose_frontend_subnet(taken)

    # standby: the primary checked before anything is written, copied, started as a hot standby -------
    @property
    def primary(self) -> tuple[str, int]:
        assert self.pair is not None
        return standby_compose.primary_address(self.pair, self.options.standby_of)

    def check_primary(self, progress: Progress) -> str:
        assert self.pair is not None
        host, port = self.primary
        if self.rerun:
            return f"standby of {host}:{port} (installed)"
        progress(f"connecting to {host}:{port} as {self.pair.role} (TLS, the pair's certificate)")
        identity = standby_compose.check_primary(self.pair, host, port)
        return f"{host}:{port}, database {identity} (the pair file's)"

    def clone_primary(self, progress: Progress) -> str:
        assert self.pair is not None
        if self.rerun:
            return "kept (copied by an earlier install)"
        host, port = self.primary
        if self.pair.version and self.pair.version != self.version:
            raise InstallError(f"the primary runs FactoryOS {self.pair.version}, this install {self.version}: install the "
                               "standby from the primary's bundle (--bundle)", code="standby_clone_failed")  # fmt: skip
        volume = standby_compose.volume_name(self.layout, self.project)
        self.undo.push("remove containers and volumes", lambda: self.stack.down(volumes=True))
        progress(f"pg_basebackup from {host}:{port} into volume {volume}")
        started = time.monotonic()
        standby_compose.clone_into_volume(self.pair, host, port, image=compose_render.image_tag("postgres", self.version),
                                          volume=volume, project=self.project, client_factory=self.client_factory)  # fmt: skip
        seconds = time.monotonic() - started
        if self.pair.audit_key:
            progress("the primary's audit signing key into the api's data volume")
            standby_compose.install_audit_key(self.stack, self.pair.audit_key, API_UID)
        key = "; the primary's audit signing key" if self.pair.audit_key else ""
        return f"volume {volume} in {seconds:.0f} s{key}"

    def start_standby(self, progress: Progress) -> str:
        progress("docker compose up --wait postgres (the api, web screens and nginx start at the promotion)")
        self.stack.up(self.options.wait_timeout, ("postgres",))
        state = standby_compose.wait_streaming(self.stack)
        if not state.in_recovery:
            raise InstallError("the copy started as a primary, not as a standby", code="standby_failed")
        if not state.streaming:
            raise InstallError("the standby does not stream from its primary (`factoryos logs postgres` says why)",
                               code="standby_failed")  # fmt: skip
        self.summary.url = base_url(self.url_host, self.https_port)
        self.summary.backups_dir = self.layout.backups_dir
        host, port = self.primary
        state_file = self.new_state() | {"standby_of": {"host": host, "port": port, "identity": self.pair.identity
                                                        if self.pair else None}}  # fmt: skip
        self.layout.write_state(state_file)
        self.undo.clear()
        lag = "?" if state.lag_seconds is None else f"{state.lag_seconds:.1f} s"
        return f"streaming from {state.upstream or host}, replay lag {lag}"

    # 6. license (before boot: the API reads it at start) -----------------------------------
    def activate_license(self, progress: Progress) -> str:
        path = self.layout.license_dir / license_store.LICENSE_FILE_NAME
        if self.options.license:
            self.undo.restore_file(path)
            text = license_store.read_license_argument(self.options.license)
            document = license_store.activate(text, path)
        else:
            try:
                document = license_store.load_active(path, allow_expired=True)
            except LicenseError as exc:  # the api runs within the evaluation allowance: no reason to stop
                self.summary.license = f"{path} is not in force ({exc}): activate a valid one"
                return self.summary.license
        if document is None:
            self.summary.license = "none (Core edition limits apply until one is activated)"
            return (f"no license given: activate later with `factoryos license activate FILE|KEY "
                    f"--dir {self.layout.root}`")  # fmt: skip
        self.summary.license = f"{document.edition.value} for {document.customer}, until {document.expires_at:%Y-%m-%d}"
        return self.summary.license

    # 7. boot ---------------------------------------------------------------------------
    def start_services(self, progress: Progress) -> str:
        if not self.rerun:
            wipe = not self.kept_data
            self.undo.push(
                "remove containers" + (" and volumes" if wipe else ""), lambda: self.stack.down(volumes=wipe)
            )
        note = ""
        if self.rerun or self.kept_data:
            progress("the api's data volume: files of an older image's user given to this one")
            note = self.own_app_volume()
        progress("docker compose up --wait (first start initialises the database)")
        self.stack.up(self.options.wait_timeout)
        return "postgres, api, nginx healthy" + note

    def own_app_volume(self) -> str:
        """Earlier api images ran as uid 999 (`useradd --system`): what they wrote must become API_UID's.
        A one-off root container, no network, no dependency started; -xdev keeps it off other mounts."""
        run = self.stack.run("run", "--rm", "--no-deps", "--user", "0:0", "--entrypoint", "find", "api",
                             "/var/lib/factoryos", "-xdev", "!", "-uid", str(API_UID), "-exec", "chown",
                             f"{API_UID}:{API_UID}", "{}", "+", timeout=600)  # fmt: skip
        if run.returncode != 0:
            log.warning("could not check the owner of the api's data volume: %s", run.stderr.strip()[-300:])
            return "; the api's data volume could not be checked (see `factoryos logs api` if it fails)"
        return ""

    # 5. first admin (roles and migrations ran in the api container's entrypoint) ------------
    def create_owner(self, progress: Progress) -> str:
        credentials = self.layout.credentials_file
        if self.has_owner:
            return "kept (created by an earlier install)"
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
        give_to_api(credentials.parent)  # the api reads whose it is, and removes it at their first sign-in
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
            owner_created=self.has_owner or bool(self.summary.admin_email),
            updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        state.setdefault("installed_at", state["updated_at"])
        return state

    def _commit(self) -> None:
        self.layout.write_state(self.new_state())
        self.undo.clear()

    def rollback(self) -> list[str]:
        return self.undo.run()


def write_compose(
    layout: Layout, *, version: str, bind_ip: str, https_port: int, log_level: str, frontend_subnet: str,
    backup_copy_to: str = "",
) -> Path:
    """The compose file; a paired primary's or a standby's replication lines come from its .env, so a
    re-run or an upgrade keeps them."""
    stored = envfile.read_env(layout.env_file) if layout.env_file.exists() else {}
    port = int(stored.get(standby_compose.REPLICATION_PORT) or 0)
    params = compose_render.ComposeParams(
        replication_network=bool(port or stored.get(standby_compose.STANDBY_OF)),
        replication_bind=stored.get(standby_compose.REPLICATION_BIND, "") if port else "",
        replication_port=port,
        frontend_subnet=frontend_subnet,
        backup_copy_to=backup_copy_to,
        version=version,
        bind_ip=bind_ip,
        https_port=https_port,
        tls_dir=str(layout.tls.directory),
        license_dir=str(layout.license_dir),
        backups_dir=str(layout.backups_dir),
        first_sign_in_dir=str(layout.first_sign_in_dir),
        host_id=host_id(),
        log_level=log_level,
    )
    return compose_render.write(params, layout.root)


def rewrite_compose(layout: Layout) -> Path:
    """The compose file again from the installation's .env (after a change to it)."""
    env = envfile.read_env(layout.env_file)
    return write_compose(layout, version=env[envfile.VERSION], bind_ip=env["FACTORYOS_BIND_IP"],
                         https_port=int(env["FACTORYOS_HTTPS_PORT"]), log_level=env.get("FACTORYOS_LOG_LEVEL", "info"),
                         frontend_subnet=env[envfile.FRONTEND_SUBNET],
                         backup_copy_to=env.get(envfile.BACKUP_COPY_TO, ""))  # fmt: skip


def give_to_api(folder: Path) -> None:
    """The api container runs as API_UID: the folders it writes through its mounts are its own,
    and so are the files in them (dumps an earlier installer wrote as root)."""
    if os.geteuid() != 0:
        return
    for path in (folder, *folder.iterdir()):
        if path.stat().st_uid != API_UID:
            os.chown(path, API_UID, API_UID)


def _remove_image(client_factory: Callable[[], docker.DockerClient], tag: str) -> None:
    client = client_factory()
    try:
        client.images.remove(tag, force=True)  # untag even if a failed start still uses it
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()
