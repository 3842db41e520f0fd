"""OPC-UA subscription mode: the server pushes each change, stamped with its source time.

One subscription per session holds a monitored item per signal node (status and alarm items
carry the configured absolute deadband as a DataChangeFilter; counters never do). Every
notification is kept, per machine watching the node, with its time: the SourceTimestamp, else
the ServerTimestamp, else when it was received. A time in the future beyond `MAX_SKEW` is
replaced by the receive time; one before what the machine's last read already covered is
raised to it. Both are logged (except for an item's initial value, which names when the value
last changed, maybe hours ago: raising it is routine). Only times are clamped, never values.

A read hands the changes since the previous read over as `Reading.earlier`, oldest first,
so that the monitor counts each at its own time; the reading itself holds the latest values,
as of the last message from the server. A session whose subscription has gone quiet for longer
than its keep-alive allows (or that the server reports ended) fails the read: the endpoint
session reconnects, and the subscription is created anew on the new session. (A subscription
the server dropped while the connection stayed up is made again by asyncua's own watchdog.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeNotif, Subscription

from factoryos.connectivity.driver import Reading, machine_label
from factoryos.connectivity.errors import ConnectivityError, EndpointUnavailable, SignalReadFailed
from factoryos.connectivity.machine_config import OpcUaMachine

log = logging.getLogger(__name__)

MAX_SKEW = timedelta(seconds=2)  # a PLC clock this far ahead of ours is wrong, not early
MAX_PENDING = 2000  # changes kept per machine between reads; older ones are merged (totals lose nothing)
KEEPALIVE = 1.0  # seconds: how often a quiet subscription still hears from the server
QUEUE_SIZE = 10  # changes the server keeps per item between two publishes

ToReading = Callable[[OpcUaMachine, dict[str, ua.DataValue]], "Reading | ConnectivityError"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Change:
    node: str
    value: ua.DataValue
    at: datetime
    initial: bool  # the item's first value after (re)subscribing


class PushedValues:
    """The subscription of one session and what it delivered."""

    def __init__(self, label: str, publishing_interval: float, timeout: float,
                 signal_nodes: Callable[[OpcUaMachine], list[tuple[str, float | None]]]) -> None:
        self.label = label
        self._interval = publishing_interval
        self._timeout = timeout
        self._signal_nodes = signal_nodes  # (node id, deadband) per signal of a machine
        self._keepalive_count = max(1, math.ceil(KEEPALIVE / publishing_interval))
        self._subscription: Subscription | None = None
        self._subscription_id: int | None = None
        self._client: Client | None = None
        self._ended: str | None = None
        self._handles: dict[int, str] = {}  # client handle → node id as configured
        self._monitored: set[str] = set()
        self._latest: dict[str, ua.DataValue] = {}
        self._fresh: set[str] = set()  # monitored, first value not yet received
        self._watchers: dict[str, set[str]] = {}  # node → machine ids
        self._pending: dict[str, list[_Change]] = {}  # machine id → changes since its last read
        self._base: dict[str, dict[str, ua.DataValue]] = {}  # machine id → values as of its last read
        self._covered: dict[str, datetime] = {}  # machine id → up to when its last read covered
        self._arrived = asyncio.Event()
        self.clamped = 0  # times replaced (future) or raised (past): for health and tests

    # -- session ----------------------------------------------------------------------------
    def attach(self, client: Client) -> None:
        """A new session: items are created again on the next read; what each machine's last
        read covered stays, so changes made while disconnected keep their source times."""
        self._client, self._subscription, self._ended = client, None, None
        self._handles.clear()
        self._monitored.clear()
        self._latest.clear()
        self._fresh.clear()

    def detach(self) -> None:
        self._client = self._subscription = None

    # asyncua handler interface (called from its publish loop, one task per notification)
    def datachange_notification(self, node: Any, val: Any, data: DataChangeNotif) -> None:
        key = self._handles.get(data.monitored_item.ClientHandle)
        if key is None:
            return
        sub = self._subscription
        if sub is not None and sub.subscription_id != self._subscription_id:
            # asyncua made the subscription again on the server (it had dropped it): every item's
            # next value is an initial one again, stamped with its last change.
            self._subscription_id = sub.subscription_id
            self._fresh.update(self._monitored)
        dv = data.monitored_item.Value
        received = datetime.now(UTC)
        at = _utc(dv.SourceTimestamp) or _utc(dv.ServerTimestamp) or received
        if at > received + MAX_SKEW:
            self.clamped += 1
            log.warning("%s: %s is stamped %s, ahead of this host's clock: counted at its arrival",
                        self.label, key, at.isoformat())
            at = received
        initial = key in self._fresh
        self._fresh.discard(key)
        self._latest[key] = dv
        for mid in self._watchers.get(key, ()):
            pending = self._pending.setdefault(mid, [])
            pending.append(_Change(key, dv, at, initial))
            if len(pending) > MAX_PENDING:
                # Merge the oldest change into the base: its time is lost, its value (a total) is not.
                oldest = pending.pop(0)
                self._base.setdefault(mid, {})[oldest.node] = oldest.value
        self._arrived.set()

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        if not status.Status.is_good():
            self._ended = status.Status.name

    # -- reading ----------------------------------------------------------------------------
    def check_alive(self) -> None:
        """Raise `EndpointUnavailable` when the session or its subscription is gone."""
        client, sub = self._client, self._subscription
        if client is None:
            raise EndpointUnavailable(f"{self.label}: not connected")
        if self._ended is not None:
            raise EndpointUnavailable(f"{self.label}: the server ended the subscription ({self._ended})")
        if client.uaclient.state is not UaClientState.CONNECTED:
            raise EndpointUnavailable(f"{self.label}: connection lost")
        if sub is not None and sub.last_publish_at is not None:
            quiet = time.monotonic() - sub.last_publish_at
            if quiet > self._interval * self._keepalive_count * 2 + self._timeout:
                raise EndpointUnavailable(f"{self.label}: no message from the server for {quiet:.0f} s")

    async def watch(self, machines: Sequence[OpcUaMachine]) -> None:
        """Monitor every node of these machines not monitored yet; wait (up to the timeout)
        for the first values of new ones."""
        client = self._client
        assert client is not None
        now = datetime.now(UTC)
        wanted: dict[str, float | None] = {}
        for machine in machines:
            self._covered.setdefault(machine.machine_id, now)  # nothing before we started watching
            for node, deadband in self._signal_nodes(machine):
                self._watchers.setdefault(node, set()).add(machine.machine_id)
                if node not in self._monitored:
                    wanted.setdefault(node, deadband)
        if not wanted:
            return
        self._fresh.update(wanted)  # before asking: a first value may come before the answer does
        try:
            if self._subscription is None:
                self._subscription = await client.create_subscription(self._parameters(), self)
                self._subscription_id = self._subscription.subscription_id
            requests = [self._request(client, node, deadband) for node, deadband in wanted.items()]
            results = await self._subscription.create_monitored_items(requests)
        except ua.UaStatusCodeError as exc:
            raise EndpointUnavailable(f"{self.label}: subscribing failed: {ua.StatusCode(exc.code).name}") from None
        except (TimeoutError, OSError, ua.UaError, ConnectionError) as exc:
            raise EndpointUnavailable(f"{self.label}: subscribing failed: {exc or type(exc).__name__}") from None
        for node, result in zip(wanted, results, strict=True):
            self._monitored.add(node)
            if isinstance(result, ua.StatusCode):  # e.g. BadNodeIdUnknown: that machine's read says so
                self._latest[node] = ua.DataValue(StatusCode=result)
                self._fresh.discard(node)
        deadline = time.monotonic() + self._timeout
        while self._fresh & set(wanted) and time.monotonic() < deadline:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))

    def _parameters(self) -> ua.CreateSubscriptionParameters:
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = self._interval * 1000
        params.RequestedMaxKeepAliveCount = self._keepalive_count
        params.RequestedLifetimeCount = self._keepalive_count * 10
        params.MaxNotificationsPerPublish = 10_000
        params.PublishingEnabled = True
        params.Priority = 0
        return params

    def _request(self, client: Client, node: str, deadband: float | None) -> ua.MonitoredItemCreateRequest:
        handle = len(self._handles) + 1
        self._handles[handle] = node
        item = ua.ReadValueId()
        item.NodeId = client.get_node(node).nodeid
        item.AttributeId = ua.AttributeIds.Value
        params = ua.MonitoringParameters()
        params.ClientHandle = handle
        params.SamplingInterval = 0.0  # the server's fastest: each change with its own time
        params.QueueSize = QUEUE_SIZE
        params.DiscardOldest = True
        if deadband is not None:
            params.Filter = ua.DataChangeFilter(
                Trigger=ua.DataChangeTrigger.StatusValue, DeadbandType=ua.DeadbandType.Absolute,
                DeadbandValue=deadband)
        request = ua.MonitoredItemCreateRequest()
        request.ItemToMonitor = item
        request.MonitoringMode = ua.MonitoringMode.Reporting
        request.RequestedParameters = params
        return request

    def reading(self, machine: OpcUaMachine, to_reading: ToReading) -> Reading | ConnectivityError:
        """The machine's latest values, with the changes since its previous read as `earlier`."""
        mid = machine.machine_id
        nodes = [node for node, _ in self._signal_nodes(machine)]
        now = datetime.now(UTC)
        floor = self._covered.get(mid, now)
        changes = sorted(self._pending.pop(mid, []), key=lambda c: c.at)
        base = self._base.setdefault(mid, {})
        earlier: list[Reading] = []
        for index, change in enumerate(changes):
            at = change.at
            if at < floor:
                if not change.initial and floor - at > MAX_SKEW:
                    self.clamped += 1
                    log.warning("%s: %s is stamped %s, before values already read: counted at %s",
                                self.label, change.node, at.isoformat(), floor.isoformat())
                at = floor
            base[change.node] = change.value
            if index + 1 < len(changes) and changes[index + 1].at == change.at:
                continue  # values stamped together (status and alarm of one event) are one reading
            if all(n in base for n in nodes):
                snapshot = to_reading(machine, base)
                if isinstance(snapshot, Reading):
                    earlier.append(replace(snapshot, at=at))
        if any(n not in self._latest for n in nodes):
            return SignalReadFailed(f"{machine_label(machine)} on {self.label}: no value from the subscription yet")
        latest = {n: self._latest[n] for n in nodes}
        current = to_reading(machine, latest)
        as_of = self._as_of(now)
        if earlier:
            as_of = max(as_of, earlier[-1].at or as_of)
        self._covered[mid] = as_of
        if isinstance(current, ConnectivityError):
            return current
        return replace(current, at=as_of, earlier=tuple(earlier))

    def _as_of(self, now: datetime) -> datetime:
        """Up to when the latest values are known to hold: the last message from the server, less
        one publishing interval (changes made since may still be queued on the server)."""
        sub = self._subscription
        if sub is None or sub.last_publish_at is None:
            return now
        ago = time.monotonic() - sub.last_publish_at + self._interval
        return now - timedelta(seconds=max(0.0, ago))
