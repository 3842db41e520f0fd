"""Fixtures for installer tests: real sockets, real files, a Docker API speaker on loopback."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"  # vendored, see data/NOTICE.md


class DockerApi(ThreadingHTTPServer):
    """Speaks enough of the Engine API for the checks: ping, version, info, container, volume and
    network lists, image inspection (`images`: tag → Id) and "no such image"."""

    engine_version = "27.3.1"

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.containers: list[dict[str, object]] = []
        self.volumes: list[dict[str, object]] = []
        self.images: dict[str, str] = {}
        self.docker_root = tempfile.gettempdir()  # where this "engine" keeps its images
        self.networks: list[dict[str, object]] = [
            {"Name": "bridge", "Labels": {}, "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}}
        ]

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: DockerApi

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path.endswith("/_ping"):
            body, kind = b"OK", "text/plain"
        elif self.path.endswith("/version"):
            body = json.dumps(
                {"Version": self.server.engine_version, "ApiVersion": "1.41", "MinAPIVersion": "1.12"}
            ).encode()
            kind = "application/json"
        elif self.path.split("?")[0].endswith("/containers/json"):
            body, kind = json.dumps(self.server.containers).encode(), "application/json"
        elif self.path.split("?")[0].endswith("/info"):
            body, kind = json.dumps({"DockerRootDir": self.server.docker_root}).encode(), "application/json"
        elif self.path.split("?")[0].endswith("/networks"):
            body, kind = json.dumps(self.server.networks).encode(), "application/json"
        elif self.path.split("?")[0].endswith("/volumes"):
            body, kind = json.dumps({"Volumes": self.server.volumes, "Warnings": None}).encode(), "application/json"
        elif self.path.startswith("/v") and "/images/" in self.path and self._image() in self.server.images:
            name = self._image()
            body = json.dumps({"Id": self.server.images[name], "RepoTags": [name]}).encode()
            kind = "application/json"
        else:  # e.g. image inspect of an image this engine does not have
            body = json.dumps({"message": f"No such image: {self.path}"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _image(self) -> str:
        from urllib.parse import unquote

        return unquote(self.path.split("/images/", 1)[1].rsplit("/json", 1)[0])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def docker_api() -> Iterator[DockerApi]:
    server = DockerApi(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def vendor_key() -> Ed25519PrivateKey:
    """The tests' own signing key: the real vendor key is never in the repository."""
    return Ed25519PrivateKey.generate()
