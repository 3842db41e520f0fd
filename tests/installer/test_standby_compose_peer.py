"""Where a paired Compose primary looks for its promoted standby (`standby pair --standby-db`, or the
standby's own address), refused when only networks name it; and the peer file the api reads (0600)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.backup.standby import StandbyError
from factoryos.backup.standby_fence import CA_FILE, PEER_FILE, PeerFile
from installer.standby_compose import peer_address


def test_the_standby_database_address() -> None:
    assert peer_address("10.0.0.12", None, 5432) == ("10.0.0.12", 5432)
    assert peer_address("10.0.0.0/24,10.0.1.7", None, 6543) == ("10.0.1.7", 6543)  # the first single address
    assert peer_address("10.0.0.0/24", "db2.plant.example:5433", 5432) == ("db2.plant.example", 5433)
    assert peer_address("10.0.0.12", "10.0.0.13", 5440) == ("10.0.0.13", 5440)
    with pytest.raises(StandbyError, match="--standby-db"):
        peer_address("10.0.0.0/24", None, 5432)
    with pytest.raises(StandbyError, match="HOST or HOST:PORT"):
        peer_address("10.0.0.12", "10.0.0.13:db", 5432)


def test_the_peer_file(tmp_path: Path) -> None:
    peer = PeerFile("10.0.0.13", 5433, "s3cret-pass", "-----BEGIN CERTIFICATE-----\nx\n")
    path = peer.write(tmp_path / "standby")
    assert path.name == PEER_FILE and path.stat().st_mode & 0o777 == 0o600
    assert PeerFile.read(path) == peer
    link = peer.link(tmp_path / "standby")
    assert link.ca_file == tmp_path / "standby" / CA_FILE and link.ca_file.read_text() == peer.ca_pem
    assert "sslmode=verify-ca" in link.conninfo() and "s3cret" not in link.conninfo()  # the password apart
    path.write_text("{")
    with pytest.raises(StandbyError, match="not a readable standby peer file"):
        PeerFile.read(path)
