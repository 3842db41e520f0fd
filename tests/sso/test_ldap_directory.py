"""The LDAP client on its own against the real slapd: TLS with the provider's CA, StartTLS,
failover between URLs, service and direct binds, memberOf and group search with nesting."""

from __future__ import annotations

import uuid

import pytest

from factoryos.sso.ldap import DirectoryRefused, DirectoryUnavailable, LdapDirectory, Trace
from factoryos.sso.ldap_config import LdapConfig
from tests.sso.slapd import GROUPS, PASSWORDS, PEOPLE, SERVICE_PW, Slapd, add_people, ldap_config


def _directory(slapd: Slapd, secret: str | None = SERVICE_PW, **over: object) -> LdapDirectory:
    return LdapDirectory(LdapConfig.model_validate(ldap_config(slapd, **over)), secret, "Plant AD")


@pytest.fixture(scope="module")
def people(slapd: Slapd):
    return add_people(slapd, uuid.uuid4().hex[:8])


def test_ldaps_with_the_providers_ca_finds_nested_groups_through_member_of(slapd: Slapd, people) -> None:
    person = _directory(slapd).authenticate(people.ada, PASSWORDS["ada"])
    assert person is not None
    assert person.email == people.ada and person.display_name == "Ada Lovelace"
    assert set(person.group_names) == {people.group("line-leads"), people.group("supervisors"), people.group("staff")}
    assert len(person.subject) == 36  # entryUUID: survives a rename
    # Without nesting only the direct group; with one level of nesting, not the grand-parent.
    assert _directory(slapd, nested=False).lookup(people.ada).group_names == (people.group("line-leads"),)
    assert set(_directory(slapd, max_nesting=1).lookup(people.ada).group_names) == {
        people.group("line-leads"), people.group("supervisors")}


def test_group_search_walks_the_same_chain(slapd: Slapd, people) -> None:
    directory = _directory(slapd, groups="group_search", group_base=GROUPS)
    person = directory.lookup(people.ada)
    assert set(person.group_names) == {people.group("line-leads"), people.group("supervisors"), people.group("staff")}


def test_wrong_or_empty_password_and_unknown_person_give_no_one(slapd: Slapd, people) -> None:
    directory = _directory(slapd)
    assert directory.authenticate(people.ada, "wrong") is None
    assert directory.authenticate(people.ada, "") is None  # an empty password would be an anonymous bind
    assert directory.authenticate(f"nobody@{people.domain}", "x") is None
    assert directory.authenticate("*)(mail=*", PASSWORDS["ada"]) is None  # filter characters are escaped


def test_a_certificate_from_another_ca_is_refused(slapd: Slapd, people) -> None:
    import tempfile
    from pathlib import Path

    from tests.sso.slapd import _certificates  # a fresh, unrelated CA

    other_ca = _certificates(Path(tempfile.mkdtemp(prefix="factoryos-other-ca-")))
    trace = Trace()
    with pytest.raises(DirectoryUnavailable) as caught:
        _directory(slapd, ca_bundle=other_ca).lookup(people.ada, trace)
    assert "Plant AD" in caught.value.detail and slapd.ldaps_url in caught.value.detail
    assert trace.steps[0][0] is False and "certificate" in trace.steps[0][2].lower()


def test_start_tls_and_failover_to_the_next_url(slapd: Slapd, people) -> None:
    trace = Trace()
    directory = _directory(slapd, urls=["ldap://127.0.0.1:9", slapd.ldap_url], start_tls=True)
    assert directory.lookup(people.bob, trace).group_names == (people.group("operators"),)
    assert [ok for ok, step, _ in trace.steps if step == "connect"] == [False, True]
    assert "StartTLS" in trace.steps[1][2]


def test_direct_bind_as_the_person(slapd: Slapd, people) -> None:
    directory = _directory(slapd, secret=None, bind="direct", bind_dn=None,
                           user_dn_template=f"uid={{username}},{PEOPLE}")
    assert directory.authenticate(people.bob, PASSWORDS["bob"]).group_names == (people.group("operators"),)
    assert directory.authenticate(people.bob, "wrong") is None


def test_a_wrong_service_password_is_a_settings_problem(slapd: Slapd, people) -> None:
    with pytest.raises(DirectoryRefused) as caught:
        _directory(slapd, secret="not-the-service-password").authenticate(people.ada, PASSWORDS["ada"])
    assert caught.value.field == "config.bind_dn"


def test_settings_are_checked() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="service bind needs bind_dn"):
        LdapConfig.model_validate({"urls": ["ldaps://dc1"], "user_base": "dc=x"})
    with pytest.raises(ValidationError, match="not an ldap"):
        LdapConfig.model_validate({"urls": ["https://dc1"], "user_base": "dc=x", "bind_dn": "cn=s"})
    with pytest.raises(ValidationError, match="StartTLS"):
        LdapConfig.model_validate({"urls": ["ldaps://dc1"], "user_base": "dc=x", "bind_dn": "cn=s", "start_tls": True})
