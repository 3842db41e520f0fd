"""The installer's note of the owner's first password is removed once it served."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from factoryos.system.first_sign_in import MAX_AGE_SECONDS, retire
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, login, new_company
from tests.conftest import LiveServer, duty_claim, free_port


def _note(path, email: str) -> None:
    path.write_text(f"FactoryOS owner account\nurl: https://plant.example\nemail: {email}\npassword: x\n")


@pytest.fixture(scope="module")
def noted(settings, db_urls, tmp_path_factory):
    note = tmp_path_factory.mktemp("first-sign-in") / "admin-credentials.txt"
    app = create_app(settings.model_copy(update={"first_sign_in_file": note}), db_urls.app,
                     authenticator=TokenAuthenticator.from_settings(settings, FAST), duties=duty_claim(db_urls.app))
    server = LiveServer(app, free_port()).start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client, note
    server.stop()


def test_the_note_goes_at_the_first_sign_in_of_the_account_it_names(noted) -> None:
    http, note = noted
    owner, other = new_company(http), new_company(http)
    _note(note, owner.email.upper())
    assert login(http, other.email).status_code == 200
    assert note.exists(), "another account's sign-in leaves the owner's note"
    assert login(http, owner.email, password="not the password").status_code == 401
    assert note.exists(), "a failed sign-in leaves it"
    assert login(http, owner.email).status_code == 200
    assert not note.exists()
    assert login(http, owner.email).status_code == 200  # nothing left to remove: still signs in


def test_the_note_goes_after_24_hours_even_unused(tmp_path) -> None:
    note = tmp_path / "admin-credentials.txt"
    _note(note, "owner@plant.example")
    assert not retire(note) and note.exists()
    old = time.time() - MAX_AGE_SECONDS - 5
    os.utime(note, (old, old))
    assert retire(note) and not note.exists()
    assert not retire(note)  # gone already: nothing to do, no error
