"""Publishing to a real Mosquitto: the session server's own publisher, configured over the API.

Two companies publish to one broker with their own prefixes and Sparkplug groups; a subscriber on
`#` (paho, a real MQTT client) sees each machine's state, counts and OEE as retained JSON and as
Sparkplug B (decoded with the same protobuf package), a state change as a DDATA by alias, a
rebirth request answered with new births, and nothing of one company under the other's topics.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import paho.mqtt.client as paho
import pytest
from sparkplub_b_packets.core import sparkplug_b_pb2 as pb
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from factoryos.integrations.mqtt_publisher import ALIASES
from factoryos.production.signals import CountRow, record_counts
from factoryos.production.state_batch import StateRow, record_state_changes
from tests.accounts import Session, join, new_company
from tests.conftest import LiveServer
from tests.connectivity.mqtt_broker import PASSWORD, USER, Broker, running_broker
from tests.orders import runs_plant
from tests.production import plant

URL = "/api/v1/integrations/mqtt-publish"
WAIT = 30.0  # the session server's publisher reloads settings every 0.5 s (tests/conftest.py)


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class Subscriber:
    """Everything published on the broker (`#` and the Sparkplug namespace), in arrival order."""

    broker: Broker
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        self.client.username_pw_set(USER, PASSWORD)
        self.client.reconnect_delay_set(0.2, 1)  # back soon after a broker restart
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (c.subscribe([("#", 1)]), ready.set())
        self.client.on_message = lambda c, u, m: self._got(m)
        self.client.connect("127.0.0.1", self.broker.port)
        self.client.loop_start()
        assert ready.wait(10), "subscriber did not connect"
        time.sleep(0.3)  # SUBACK

    def _got(self, m: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(Message(m.topic, bytes(m.payload), bool(m.retain)))

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def on(self, prefix: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.topic.startswith(prefix)]

    def wait(self, what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"not seen within {timeout:g} s: {what}; topics: "
                             f"{sorted({m.topic for m in self.messages})[:40]}")

    def last_json(self, topic: str) -> Any:
        with self.lock:
            hits = [m for m in self.messages if m.topic == topic and m.payload]
        return json.loads(hits[-1].payload) if hits else None

    def sparkplug(self, topic: str) -> list[Any]:
        with self.lock:
            return [pb.Payload.FromString(m.payload) for m in self.messages if m.topic == topic]


@dataclass
class Company:
    owner: Session
    tenant: UUID
    site: dict
    line: dict
    machine: dict
    prefix: str
    group: str

    @property
    def tree(self) -> str:
        return f"{self.prefix}/{self.site['code']}/{self.line['code']}/{self.machine['code']}"

    @property
    def device(self) -> str:
        return f"{self.site['code']}:{self.machine['code']}"


def _company(http: httpx.Client, app_engine: Engine, broker: Broker, tag: str) -> Company:
    owner = new_company(http, name=f"Co {tag}")
    site = plant.site(http, owner, timezone="UTC")
    plant.shift(http, owner, site["id"], "Day and night", "00:00", "00:00")
    line = plant.line(http, owner, site["id"])
    machine = plant.machine(http, owner, site["id"], cycle=30, line_id=line["id"])
    tenant = UUID(owner.tenant_id)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_changes(conn, tenant, [StateRow(machine["id"], "running", 1, now - timedelta(minutes=5))])
        record_counts(conn, tenant, [CountRow(machine["id"], now - timedelta(minutes=2), 7, 1, f"{tag}-1")])
    suffix = uuid.uuid4().hex[:6]
    company = Company(owner, tenant, site, line, machine, f"plant-{tag}-{suffix}", f"G{tag}{suffix}")
    r = http.put(URL, json={"url": broker.url, "username": USER, "password": PASSWORD, "mode": "both",
                            "topic_prefix": company.prefix, "group_id": company.group, "interval_seconds": 1,
                            "oee_seconds": 5}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return company


@dataclass
class World:
    broker: Broker
    sub: Subscriber
    a: Company
    b: Company


@pytest.fixture(scope="module")
def world(live_server: LiveServer, app_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with (running_broker(tmp_path_factory.mktemp("mosquitto-publish")) as broker,
          httpx.Client(base_url=live_server.url, timeout=30) as http):
        sub = Subscriber(broker)
        sub.start()
        made: list[Company] = []
        try:
            made += [_company(http, app_engine, broker, "a"), _company(http, app_engine, broker, "b")]
            yield World(broker, sub, *made)
        finally:
            for company in made:  # the server's publisher stops within its reload period
                http.delete(URL, headers=company.owner.headers)
            sub.stop()


def _metrics(payload: Any) -> dict[str, Any]:
    out = {}
    for m in payload.metrics:
        kind = m.WhichOneof("value")
        out[m.name or m.alias] = None if m.is_null or kind is None else getattr(m, kind)
    return out


def test_state_counts_and_oee_are_published_as_a_retained_tree(world: World) -> None:
    a, sub = world.a, world.sub
    state = sub.wait("A's state topic", lambda: sub.last_json(f"{a.tree}/state"))
    assert state["state"] == "running" and state["machine"] == a.machine["code"] and state["raw_code"] == 1
    counts = sub.last_json(f"{a.tree}/counts")
    assert (counts["good"], counts["scrap"], counts["shift"]) == (7, 1, "Day and night")
    assert sub.last_json(f"{a.tree}/order") is None  # published as JSON null: no order runs
    oee = sub.wait("A's OEE", lambda: sub.last_json(f"{a.tree}/oee"))
    assert 0 < oee["oee"] <= 1 and oee["quality"] == pytest.approx(7 / 8) and oee["shift"] == "Day and night"
    # A subscriber arriving now gets the current values at once: they are retained.
    late = Subscriber(world.broker)
    late.start()
    try:
        assert late.wait("retained state", lambda: late.last_json(f"{a.tree}/state"))["state"] == "running"
        assert any(m.retain for m in late.on(f"{a.tree}/counts"))
    finally:
        late.stop()
    # OEE is published on its period (5 s here), again and again.
    sub.wait("a second OEE", lambda: len(sub.on(f"{a.tree}/oee")) >= 2, timeout=20)


def test_sparkplug_births_and_a_state_change_as_ddata(world: World, http: httpx.Client, app_engine: Engine) -> None:
    # A company of its own: the other tests read A's values as set up, in any order.
    a, sub = _company(http, app_engine, world.broker, "d"), world.sub
    node = f"spBv1.0/{a.group}/NBIRTH/FactoryOS"
    births = sub.wait("A's NBIRTH", lambda: sub.sparkplug(node))
    birth = _metrics(births[-1])
    assert births[-1].seq == 0 and "bdSeq" in birth and birth["Node Control/Rebirth"] is False
    dbirth_topic = f"spBv1.0/{a.group}/DBIRTH/FactoryOS/{a.device}"
    dbirth = sub.wait("A's DBIRTH", lambda: sub.sparkplug(dbirth_topic))[-1]
    values = _metrics(dbirth)
    assert values["State"] == "running" and values["Counts/Good"] == 7 and values["Counts/Scrap"] == 1
    assert {m.name: m.alias for m in dbirth.metrics} == ALIASES
    # The machine stops and makes more parts: a DDATA by alias, with what changed only.
    now = datetime.now(UTC).replace(microsecond=0)
    with tenant_transaction(app_engine, a.tenant) as conn:
        record_state_changes(conn, a.tenant, [StateRow(a.machine["id"], "unplanned_stop", 4, now)])
        record_counts(conn, a.tenant, [CountRow(a.machine["id"], now.replace(second=0), 3, 0, "d-2")])
    ddata_topic = f"spBv1.0/{a.group}/DDATA/FactoryOS/{a.device}"

    def stopped() -> dict | None:
        seen: dict = {}
        for p in sub.sparkplug(ddata_topic):
            seen |= _metrics(p)
        return seen if seen.get(ALIASES["State"]) == "unplanned_stop" and seen.get(ALIASES["Counts/Good"]) == 10 \
            else None

    seen = sub.wait("the stop as DDATA", stopped)
    assert seen[ALIASES["State/Code"]] == 4
    assert ALIASES["Machine/Name"] not in seen  # unchanged metrics are not sent again
    state = sub.wait("the stop in the tree", lambda: (s := sub.last_json(f"{a.tree}/state")) and
                     s["state"] == "unplanned_stop" and s)
    assert state["raw_code"] == 4
    assert sub.wait("counts 10", lambda: (c := sub.last_json(f"{a.tree}/counts")) and c["good"] == 10 and c)
    # Sequence numbers of the node's messages run on without a gap (mod 256) from its NBIRTH.
    with sub.lock:
        ours = [pb.Payload.FromString(m.payload) for m in sub.messages
                if m.topic.startswith(f"spBv1.0/{a.group}/") and "/NDEATH/" not in m.topic
                and "/NCMD/" not in m.topic]
    last_birth = max(i for i, p in enumerate(ours) if p.seq == 0)
    seqs = [p.seq for p in ours[last_birth:]]
    assert seqs == [i % 256 for i in range(len(seqs))]
    assert http.delete(URL, headers=a.owner.headers).status_code == 204


def test_a_rebirth_request_is_answered(world: World) -> None:
    a, sub = world.a, world.sub
    node = f"spBv1.0/{a.group}/NBIRTH/FactoryOS"
    before = len(sub.wait("A's NBIRTH", lambda: sub.sparkplug(node)))
    request = pb.Payload(timestamp=int(time.time() * 1000))
    metric = request.metrics.add()
    metric.name, metric.datatype, metric.boolean_value = "Node Control/Rebirth", pb.Boolean, True
    sub.client.publish(f"spBv1.0/{a.group}/NCMD/FactoryOS", request.SerializeToString(), qos=1)
    births = sub.wait("a new NBIRTH", lambda: len(s := sub.sparkplug(node)) > before and s)
    assert births[-1].seq == 0
    assert _metrics(births[-1])["bdSeq"] == _metrics(births[0])["bdSeq"]  # same session, same bdSeq
    dbirths = sub.wait("a new DBIRTH", lambda: len(sub.sparkplug(f"spBv1.0/{a.group}/DBIRTH/FactoryOS/{a.device}"))
                       >= 2)
    assert dbirths


def test_one_companys_data_never_appears_on_the_others_topics(world: World) -> None:
    a, b, sub = world.a, world.b, world.sub
    sub.wait("B's state", lambda: sub.last_json(f"{b.tree}/state"))
    sub.wait("A's state", lambda: sub.last_json(f"{a.tree}/state"))
    for mine, other in ((a, b), (b, a)):
        own = sub.on(mine.prefix + "/") + sub.on(f"spBv1.0/{mine.group}/")
        assert own
        for m in own:
            text_ = m.payload.decode("latin-1")
            assert other.machine["code"] not in m.topic and other.machine["code"] not in text_, m.topic
            assert other.site["code"] not in m.topic, m.topic
        tree = [m.topic[len(mine.prefix) + 1:].split("/") for m in own if m.topic.startswith(mine.prefix + "/")]
        # <prefix>/<site>/<line>/<machine>/…: only its own (or the connection test's `_test`).
        assert {tuple(t[:3]) for t in tree if t != ["_test"]} == {
            (mine.site["code"], mine.line["code"], mine.machine["code"])}


def test_settings_api_keeps_the_password_secret_and_is_audited(world: World, http: httpx.Client,
                                                               superuser_engine: Engine) -> None:
    a = world.a
    got = http.get(URL, headers=a.owner.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["password_set"] is True and "password" not in body and PASSWORD not in got.text
    health = world.sub.wait("A's health connected", lambda: (h := http.get(URL, headers=a.owner.headers).json()[
        "health"])["state"] == "connected" and h)
    assert health["last_connected_at"] and health["error_code"] is None
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select password_encrypted from mqtt_publish_settings where tenant_id = :t"),
                              {"t": a.tenant}).scalar_one()
        audited = conn.execute(text("select coalesce(after::text, '') from audit_log where tenant_id = :t "
                                    "and entity_type = 'mqtt_publish_settings'"), {"t": a.tenant}).scalars().all()
    assert PASSWORD not in stored and audited and all(PASSWORD not in row for row in audited)
    operator = join(http, a.owner, "operator")
    assert http.get(URL, headers=operator.headers).status_code == 403
    # The test publishes one message to <prefix>/_test.
    r = http.post(f"{URL}/test", headers=a.owner.headers)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert r.json()["topic"] == f"{a.prefix}/_test"
    world.sub.wait("the test message", lambda: world.sub.last_json(f"{a.prefix}/_test"))


def test_a_wrong_password_is_said_in_words(http: httpx.Client, app_engine: Engine, world: World) -> None:
    owner = new_company(http, name="Co wrong")
    r = http.put(URL, json={"url": world.broker.url, "username": USER, "password": "not-the-password",
                            "topic_prefix": f"wrong-{uuid.uuid4().hex[:6]}"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    try:
        tried = http.post(f"{URL}/test", headers=owner.headers).json()
        assert tried["ok"] is False and tried["error_code"] == "mqtt_authentication_failed"
        assert "refused the user name or password" in tried["error"]

        def health() -> dict | None:
            h = http.get(URL, headers=owner.headers).json()["health"]
            return h if h["state"] == "error" else None

        h = world.sub.wait("health in error", health)
        assert h["error_code"] == "mqtt_authentication_failed" and "user name or password" in h["last_error"]
    finally:
        http.delete(URL, headers=owner.headers)


def test_delete_stops_publishing_with_a_death_certificate(http: httpx.Client, app_engine: Engine,
                                                          world: World) -> None:
    c = _company(http, app_engine, world.broker, "c")
    sub = world.sub
    births = sub.wait("C's NBIRTH", lambda: sub.sparkplug(f"spBv1.0/{c.group}/NBIRTH/FactoryOS"))
    assert http.delete(URL, headers=c.owner.headers).status_code == 204
    deaths = sub.wait("C's NDEATH", lambda: sub.sparkplug(f"spBv1.0/{c.group}/NDEATH/FactoryOS"))
    assert _metrics(deaths[-1])["bdSeq"] == _metrics(births[-1])["bdSeq"]
    r = http.get(URL, headers=c.owner.headers)
    assert r.status_code == 404 and r.json()["code"] == "mqtt_publish_not_configured"


def test_settings_are_checked(http: httpx.Client) -> None:
    owner = new_company(http)
    for body, where in (({"url": "http://broker:1883"}, "url"),
                        ({"url": "mqtt://broker", "ca_certificate": "/etc/ca.pem"}, None),
                        ({"url": "mqtt://broker", "topic_prefix": "a/#"}, "topic_prefix"),
                        ({"url": "mqtt://broker", "interval_seconds": 0}, "interval_seconds")):
        r = http.put(URL, json=body, headers=owner.headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        if where is not None:
            assert where in json.dumps(r.json()), r.text
    assert http.post(f"{URL}/test", headers=owner.headers).json()["code"] == "mqtt_publish_not_configured"


def test_tls_with_the_brokers_ca_and_an_untrusted_one(http: httpx.Client, world: World) -> None:
    owner = new_company(http, name="Co tls")
    body = {"url": world.broker.tls_url, "username": USER, "password": PASSWORD,
            "topic_prefix": f"tls-{uuid.uuid4().hex[:6]}", "mode": "tree"}
    try:
        assert http.put(URL, json=body | {"ca_certificate": str(world.broker.ca)},
                        headers=owner.headers).status_code == 200
        trusted = http.post(f"{URL}/test", headers=owner.headers).json()
        assert trusted["ok"] is True, trusted
        world.sub.wait("the TLS test message", lambda: world.sub.last_json(f"{body['topic_prefix']}/_test"))
        # Without the CA the system's CAs are asked, and none of them signed the test broker.
        assert http.put(URL, json=body, headers=owner.headers).status_code == 200
        untrusted = http.post(f"{URL}/test", headers=owner.headers).json()
        assert untrusted["ok"] is False and untrusted["error_code"] == "mqtt_certificate_invalid", untrusted
        assert "certificate is not trusted" in untrusted["error"]
        # The client certificate listener: with ours the session starts.
        mtls = body | {"url": world.broker.mtls_url, "ca_certificate": str(world.broker.ca),
                       "client_certificate": str(world.broker.client_cert),
                       "client_private_key": str(world.broker.client_key)}
        assert http.put(URL, json=mtls, headers=owner.headers).status_code == 200
        assert http.post(f"{URL}/test", headers=owner.headers).json()["ok"] is True
    finally:
        http.delete(URL, headers=owner.headers)


def test_a_broker_outage_is_reported_and_the_session_comes_back_reborn(http: httpx.Client, app_engine: Engine,
                                                                      tmp_path) -> None:
    with running_broker(tmp_path) as first:
        ports = (first.port, first.tls_port, first.mtls_port)
        sub = Subscriber(first)
        sub.start()
        try:
            e = _company(http, app_engine, first, "e")
            node = f"spBv1.0/{e.group}/NBIRTH/FactoryOS"
            born = sub.wait("E's NBIRTH", lambda: sub.sparkplug(node))[-1]
        except BaseException:
            sub.stop()
            raise
    try:
        def health() -> dict | None:  # the broker is gone: the health says so, in words
            h = http.get(URL, headers=e.owner.headers).json()["health"]
            return h if h["state"] == "error" else None

        h = sub.wait("health in error", health)
        assert h["error_code"] == "endpoint_unavailable" and first.url in h["last_error"], h
        with running_broker(tmp_path, ports):  # back where it was: the publisher reconnects by itself
            assert sub.wait("health connected", lambda: http.get(URL, headers=e.owner.headers).json()["health"][
                "state"] == "connected", timeout=90)
            assert sub.wait("retained state again", lambda: sub.last_json(f"{e.tree}/state"))["state"] == "running"
            # Its new NBIRTH may have gone out before this subscriber was back: ask, as a Sparkplug host does.
            sub.wait("the subscriber back", lambda: sub.client.is_connected())
            request = pb.Payload(timestamp=int(time.time() * 1000))
            metric = request.metrics.add()
            metric.name, metric.datatype, metric.boolean_value = "Node Control/Rebirth", pb.Boolean, True
            sub.client.publish(f"spBv1.0/{e.group}/NCMD/FactoryOS", request.SerializeToString(), qos=1)
            reborn = sub.wait("a new NBIRTH", lambda: [p for p in sub.sparkplug(node) if
                                                       _metrics(p)["bdSeq"] != _metrics(born)["bdSeq"]])
            assert _metrics(reborn[-1])["bdSeq"] == (_metrics(born)["bdSeq"] + 1) % 256  # a new session
            http.delete(URL, headers=e.owner.headers)
    finally:
        sub.stop()


def test_the_running_order_is_published(http: httpx.Client, app_engine: Engine, world: World) -> None:
    f, sub = _company(http, app_engine, world.broker, "f"), world.sub
    try:
        sub.wait("F's DBIRTH", lambda: sub.sparkplug(f"spBv1.0/{f.group}/DBIRTH/FactoryOS/{f.device}"))
        plant.operator(http, f.owner, f.site["id"], f.owner.user_id)
        job = runs_plant.order(app_engine, f.owner.tenant_id, [
            {"allowed": [runs_plant.allowed(f.machine, "12.5", 2)], "machine_id": f.machine["id"],
             "name": "Moulding"}], quantity=40, product="Bracket")
        r = http.post(f"/api/v1/machines/{f.machine['id']}/run", json={"operation_id": job["operations"][0]},
                      headers=f.owner.headers)
        assert r.status_code == 201, r.text
        order = sub.wait("the order in the tree", lambda: sub.last_json(f"{f.tree}/order"))
        assert (order["order_number"], order["operation"], order["ordered"]) == (job["number"], "Moulding", 40)
        ddata_topic = f"spBv1.0/{f.group}/DDATA/FactoryOS/{f.device}"

        def told() -> dict | None:
            seen: dict = {}
            for p in sub.sparkplug(ddata_topic):
                seen |= _metrics(p)
            return seen if seen.get(ALIASES["Order/Number"]) == job["number"] else None

        seen = sub.wait("the order as DDATA", told)
        assert seen[ALIASES["Order/Operation"]] == "Moulding" and seen[ALIASES["Order/Quantity"]] == 40
    finally:
        http.delete(URL, headers=f.owner.headers)
