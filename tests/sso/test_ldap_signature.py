"""A person who signs in through the company's directory signs records with that same password:
the electronic signature binds to the directory as them, never against a local password."""

from __future__ import annotations

from sqlalchemy import text

from tests.accounts import bearer
from tests.nonconformances.support import NC, disposition, open_nc
from tests.production import plant
from tests.sso.slapd import PASSWORDS, Slapd
from tests.sso.support import plant_with_directory, sign_in


def test_a_directory_person_signs_with_their_directory_password(http, slapd: Slapd, superuser_engine) -> None:
    p = plant_with_directory(http, slapd)
    rules = [{"group": f"supervisors-{p.people.tag}", "role": "supervisor", "granted": ["quality.approve"]}]
    r = http.patch(f"/api/v1/sso/providers/{p.provider['id']}", json={"rules": rules}, headers=p.owner.headers)
    assert r.status_code == 200, r.text
    r = sign_in(http, p.people.ada)
    assert r.status_code == 200, r.text
    ada = bearer(r.json()["access_token"])
    site = plant.site(http, p.owner)
    nc = open_nc(http, p.owner, plant.machine(http, p.owner, site["id"])["id"])
    disposition(http, p.owner, nc["id"])

    def close(password: str):
        return http.post(f"{NC}/{nc['id']}/close", headers=ada, json={
            "signature": {"password": password, "meaning": "approved", "reason": "Parts reworked and checked"}})

    wrong = close("not-her-directory-password")
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["field"]) == (403, "signature_invalid",
                                                                                "signature.password")
    r = close(PASSWORDS["ada"])
    assert r.status_code == 200, r.text
    signed = r.json()["signatures"][-1]
    assert (signed["signer_email"], signed["meaning"], signed["valid"]) == (p.people.ada, "approved", True)
    with superuser_engine.connect() as conn:
        method = conn.execute(text("select method from signatures where record_id = :r"), {"r": nc["id"]}).scalar_one()
    assert method == "directory"
