"""Declarative endpoints: every route names its permission, models and status.

`Router.get/post/...` register a plain sync handler `fn(ctx, **params)`. The wrapper
parses and validates input with pydantic, authenticates, opens one tenant transaction,
checks the permission against the live membership, replays `Idempotency-Key` retries,
runs the handler in the thread pool and maps errors to problem+json. Handlers never see
a request without its permission check, and the route-table tests walk `Endpoint`s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from uuid import UUID

import anyio
import anyio.to_thread
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from factoryos.audit.writer import AuditEvent, append_and_commit, record
from factoryos.config import Settings
from factoryos.db.driver import psycopg_connection, run_batch
from factoryos.db.tenant import set_tenant
from factoryos.errors import Conflict, DatabaseUnavailable, FactoryOSError, Unauthorized, ValidationFailed
from factoryos.licensing.document import Edition
from factoryos.licensing.gating import require_module
from factoryos.logs import note_company
from factoryos.plain_errors import plain
from factoryos.schema.tenancy import idempotency_keys
from server.maintenance import RETRY_AFTER_SECONDS
from server.middleware import BodyTooLarge
from server.problem import from_error, problem

if TYPE_CHECKING:
    from server.state import ServerState

log = logging.getLogger(__name__)

PUBLIC = "public"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")


@dataclass(frozen=True)
class Identity:
    """Who the verified token says is calling (no database read yet)."""

    user_id: UUID
    tenant_id: UUID
    session_id: UUID | None = None


@dataclass(frozen=True)
class Principal:
    """The caller as the live membership row says, read inside the request transaction."""

    user_id: UUID
    tenant_id: UUID
    role: str
    permissions: frozenset[str]
    session_id: UUID | None = None


class Authenticator(Protocol):
    def identify(self, request: Request) -> Identity: ...

    # The live-access lookup (membership, account, session, site scope), for the request's first
    # round trip: the statement, then the verdict on its row.
    def access_statement(self, identity: Identity) -> tuple[str, dict[str, Any]]: ...

    def admit(self, row: Mapping[str, Any] | None, identity: Identity, permission: str) -> Principal: ...


class NoAuthenticator:
    """Until an identity provider is configured, every protected route answers 401."""

    def identify(self, request: Request) -> Identity:
        raise Unauthorized("authentication is not configured on this server")

    def access_statement(self, identity: Identity) -> tuple[str, dict[str, Any]]:
        raise Unauthorized("authentication is not configured on this server")

    def admit(self, row: Mapping[str, Any] | None, identity: Identity, permission: str) -> Principal:
        raise Unauthorized("authentication is not configured on this server")


@dataclass
class Context:
    """What a handler gets: the request's transaction, caller and request facts."""

    conn: Connection
    principal: Principal | None
    request: Request
    settings: Settings
    request_id: str
    client_ip: str
    user_agent: str
    state: ServerState
    # The caller's own audit rows wait here until the handler returns (see `audit`).
    pending_audit: list[AuditEvent] = field(default_factory=list)
    # Writes left to the commit (see `write_at_commit`).
    pending_writes: list[PendingWrite] = field(default_factory=list)
    # Run once the request's transaction has committed (see `after_commit`).
    committed_hooks: list[Callable[[], None]] = field(default_factory=list)

    @property
    def tenant_id(self) -> UUID:
        if self.principal is None:
            raise Unauthorized("this action needs a signed-in user")
        return self.principal.tenant_id

    @property
    def user_id(self) -> UUID | None:
        return self.principal.user_id if self.principal else None

    def set_tenant(self, tenant_id: UUID | None, user_id: UUID | None = None) -> None:
        set_tenant(self.conn, tenant_id, user_id)

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: Any = None,
        *,
        before: Any = None,
        after: Any = None,
        tenant_id: UUID | None = None,
        actor_id: UUID | None = None,
    ) -> dict[str, Any]:
        """Write one audit row in this request's transaction (it commits or rolls back with it).

        A row of the caller's own company is appended when the handler has returned, right
        before the commit: appending takes the company's audit-chain lock until commit, so
        it is taken last (the returned dict then carries no `seq` or hashes yet).
        `tenant_id` records into another company than the caller's (e.g. a failed login of a
        member of several companies); the transaction's tenant is switched for the write,
        which happens at once.
        """
        own_tenant = self.principal.tenant_id if self.principal else None
        tenant = tenant_id or own_tenant
        if tenant is None:
            raise ValueError("an audit row needs a tenant")
        actor = actor_id or self.user_id
        event = AuditEvent(
            tenant_id=tenant,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id) if entity_id is not None else None,
            actor_id=actor,
            before=before,
            after=after,
            client_ip=self.client_ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
        )
        if tenant != own_tenant:
            set_tenant(self.conn, tenant, actor)
            try:
                return record(self.conn, event)
            finally:
                set_tenant(self.conn, own_tenant, self.user_id)
        self.pending_audit.append(event)
        return {"tenant_id": event.tenant_id, "action": action, "entity_type": entity_type,
                "entity_id": event.entity_id, "actor_id": actor}

    def write_at_commit(self, sql: str, params: Mapping[str, Any],
                        refusal: Callable[[Exception], Exception | None] | None = None) -> None:
        """Send this write (psycopg `%(name)s` parameters) with the commit, in the request's last
        round trip, instead of now: for a write the handler has checked and reads nothing back
        from. Its database error (a constraint, a trigger) comes from the commit then, and
        `refusal` may turn it into the domain's error; the request fails as if it had been raised
        here."""
        self.pending_writes.append(PendingWrite(sql, params, refusal))

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once this request's changes are committed (never if they roll back): e.g. drop a
        cached view, so that the next reader, whose transaction begins after it, sees the change."""
        self.committed_hooks.append(hook)

    def commit_with_pending_audit(self, last: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> None:
        """Run the pending writes and `last`, append the rows `audit` held back and commit, in one
        round trip (the framework's last step)."""
        events, self.pending_audit = self.pending_audit, []
        writes, self.pending_writes = self.pending_writes, []
        try:
            append_and_commit(self.conn, events, [(w.sql, w.params) for w in writes] + list(last))
        except psycopg.Error as exc:
            for write in writes:
                refused = write.refusal(exc) if write.refusal is not None else None
                if refused is not None:
                    raise refused from None
            raise _database_error(self.conn, exc) from exc
        hooks, self.committed_hooks = self.committed_hooks, []
        for hook in hooks:
            hook()


@dataclass(frozen=True)
class PendingWrite:
    sql: str
    params: Mapping[str, Any]
    refusal: Callable[[Exception], Exception | None] | None


def _database_error(conn: Connection, exc: psycopg.Error) -> DBAPIError:
    """A psycopg error of a statement sent past SQLAlchemy, as SQLAlchemy would have raised it."""
    broken = psycopg_connection(conn).broken
    error = DBAPIError.instance(None, None, exc, psycopg.Error, connection_invalidated=broken)
    assert isinstance(error, DBAPIError)  # for a DB-API error, always
    return error


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[..., Any]
    permission: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status_code: int = 200
    summary: str = ""
    # A body the handler reads and checks itself, documented only: an HTML form a SAML identity
    # provider posts, or a standard's own JSON (SCIM: see OWN_JSON_ERRORS in server/openapi.py).
    form: type[BaseModel] | None = None
    tags: tuple[str, ...] = ()
    uses_db: bool = True
    response_media_types: tuple[str, ...] = ()
    # May take seconds (reports, large ranges, dumps, imports): runs in its own smaller pool of
    # threads, so a few of them never hold up the terminals' short requests.
    long_running: bool = False
    # A module of a paid edition (quality, maintenance, …): refused with 403 `license_feature`
    # when the license in force is of a lower edition. (module name, edition needed)
    module: tuple[str, Edition] | None = None
    # The answer shows a secret once (a signing secret, a join code, a token): an Idempotency-Key
    # replay must not keep it at rest, so only the fact that the request succeeded is stored and
    # a repeat is answered 409 `idempotent_secret_not_kept`.
    shows_secret: bool = False

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass(frozen=True)
class RequestLimiters:
    """How many handlers run at once per process. Python threads share one interpreter lock:
    a few dozen runnable at once stretch every request's tail while each waits its turn, so
    requests queue on the event loop instead, and the long ones have their own smaller share."""

    short: anyio.CapacityLimiter
    long: anyio.CapacityLimiter

    @classmethod
    def of(cls, settings: Settings) -> RequestLimiters:  # inside the event loop (the app's lifespan)
        return cls(anyio.CapacityLimiter(settings.request_threads), anyio.CapacityLimiter(settings.long_request_threads))


@dataclass
class Router:
    prefix: str = ""
    tags: tuple[str, ...] = ()
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        permission: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status_code: int = 200,
        summary: str | None = None,
        form: type[BaseModel] | None = None,
        uses_db: bool = True,
        response_media_types: tuple[str, ...] = (),
        long_running: bool = False,
        module: tuple[str, Edition] | None = None,
        shows_secret: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if not permission:
            raise ValueError(f"{method} {path}: every endpoint must declare a permission (or PUBLIC)")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            doc = (fn.__doc__ or "").strip().splitlines()
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=self.prefix + path,
                    handler=fn,
                    permission=permission,
                    body=body,
                    query=query,
                    response=response,
                    status_code=status_code,
                    summary=summary or (doc[0] if doc else fn.__name__.replace("_", " ")),
                    form=form,
                    tags=self.tags,
                    uses_db=uses_db,
                    response_media_types=response_media_types,
                    long_running=long_running,
                    module=module,
                    shows_secret=shows_secret,
                )
            )
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("DELETE", path, **kw)


# -- request handling -------------------------------------------------------------------


def client_ip(request: Request, trusted_proxies: list[str]) -> str:
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted_proxies:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted_proxies:
                return hop
    return peer


def _validation_problem(exc: ValidationError, where: str) -> ValidationFailed:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or where
        errors.append({"field": loc, "message": plain(err)})
    first = errors[0] if errors else {"field": where, "message": "invalid"}
    return ValidationFailed(
        f"{first['field']}: {first['message']}", field=first["field"], extra={"errors": errors}
    )


def _reject_nul(data: Any, where: str) -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them here (422), not in the database (500)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                field = path or where
                raise ValidationFailed(f"{field}: text may not contain NUL characters", code="nul_character",
                                       field=field)
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
            stack.extend((k, path or where) for k in value)
        elif isinstance(value, list):
            stack.extend((v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value))


async def _read_body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.body()
    if not raw:
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except RecursionError:
            raise ValidationFailed("JSON nested too deeply", code="json_too_deep", field="body") from None
        except (ValueError, UnicodeDecodeError):
            raise ValidationFailed("request body is not valid JSON", code="invalid_json", field="body") from None
        _reject_nul(data, "body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_problem(exc, "body") from None
    except RecursionError:
        raise ValidationFailed("JSON nested too deeply", code="json_too_deep", field="body") from None


def _read_query(request: Request, model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.query_params.keys():
        values = request.query_params.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    _reject_nul(data, "query")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_problem(exc, "query") from None


@functools.lru_cache(maxsize=512)
def _adapter(response_type: Any) -> TypeAdapter[Any]:
    """Built once per response type (building one costs far more than using it)."""
    return TypeAdapter(response_type)


def _request_hash(request: Request, body: bytes) -> str:
    h = hashlib.sha256()
    h.update(request.method.encode())
    h.update(_url_path(request).encode())
    h.update(body)
    return h.hexdigest()


def _url_path(request: Request) -> str:
    """`request.url.path` without building the whole URL: the scope's path with what Starlette
    escapes escaped (a path with spaces or control characters, which URL parsing trims or drops,
    takes Starlette's own way)."""
    path: str = request.scope["path"]
    if " " in path or not path.isprintable():
        return request.url.path
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class _Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


# Built once: every retried-safe mutation runs them. Claiming rides in the request's first round
# trip and storing the answer in its last (with the audit rows and the COMMIT), so both go to
# psycopg as they are.
_CLAIM_KEY = ("insert into idempotency_keys (tenant_id, key, request_hash, status_code) "
              "values (%(tenant)s, %(key)s, %(hash)s, 0) on conflict do nothing returning key")
_STORE_KEY = ("update idempotency_keys set status_code = %(status)s, response = %(payload)s "
              "where tenant_id = %(tenant)s and key = %(key)s")
_READ_KEY = select(idempotency_keys).where(
    idempotency_keys.c.tenant_id == bindparam("b_tenant"), idempotency_keys.c.key == bindparam("b_key")
)
_SET_TENANT = "select set_config('app.tenant_id', %(tenant)s, true), set_config('app.user_id', %(user)s, true)"


def _replay_idempotency_key(conn: Connection, tenant_id: UUID, key: str, request_hash: str) -> NoReturn:
    """The key was claimed by an earlier request (the claim waited for it to commit): replay its answer.

    The claim's insert takes the row lock, so a concurrent retry waits for the first attempt to
    commit (then replays it) or roll back (then runs itself).
    """
    row = conn.execute(_READ_KEY, {"b_tenant": tenant_id, "b_key": key}).mappings().one()
    if row["request_hash"] != request_hash:
        raise ValidationFailed(
            "this Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    if row["response"] == _SECRET_NOT_KEPT:
        raise Conflict(
            "the first request with this Idempotency-Key succeeded; the secret it showed is not kept, so it "
            "cannot be shown again: rotate or reissue it to get a new one",
            code="idempotent_secret_not_kept",
        )
    raise _Replay(
        JSONResponse(row["response"], status_code=row["status_code"], headers={"Idempotent-Replayed": "true"})
    )


_SECRET_NOT_KEPT = {"secret_not_kept": True}  # what is stored for an answer that showed a secret


def _store_idempotent_result(tenant_id: UUID, key: str, status: int, payload: Jsonb) -> tuple[str, dict[str, Any]]:
    """The statement storing the answer (for the last round trip)."""
    return _STORE_KEY, {"tenant": tenant_id, "key": key, "status": status, "payload": payload}


def _stored_payload(response: JSONResponse, shows_secret: bool) -> Jsonb:
    """What is kept of an answer: its body as sent (already JSON text: not decoded and encoded
    again), JSON null for an empty one, or the mark that a secret was not kept."""
    if shows_secret:
        return Jsonb(_SECRET_NOT_KEPT)
    if not response.body:
        return Jsonb(None)  # JSON null, as the column's SQLAlchemy type stored None
    return Jsonb(bytes(response.body), dumps=_as_is)


def _as_is(body: bytes) -> bytes:
    return body


@dataclass(frozen=True)
class _Call:
    """One request, read and checked, ready to run in a worker thread."""

    request: Request
    state: ServerState
    request_id: str
    identity: Identity | None
    kwargs: dict[str, Any]
    raw_body: bytes
    idempotency_key: str | None
    client_ip: str
    user_agent: str

    def context(self, conn: Connection | None, principal: Principal | None) -> Context:
        return Context(conn, principal, self.request, self.state.settings,  # type: ignore[arg-type]
                       self.request_id, self.client_ip, self.user_agent, self.state)


def make_route(endpoint: Endpoint) -> Route:
    """The request's steps, in order: authenticate, read the input, check the idempotency key,
    then in a worker thread (within the limiter's share): pass the maintenance gate; open the
    transaction, read the live membership and claim the key (one round trip); authorize; run the
    handler; store the result with its deferred writes, the audit rows and the commit (one round
    trip). Any error becomes problem+json."""

    async def endpoint_app(request: Request) -> Response:
        state: ServerState = request.app.state
        request_id = request.scope.get("state", {}).get("request_id", "")
        try:
            call = await _read_call(endpoint, request, state, request_id)
            return await _run_limited(endpoint, state, lambda: _run_handler(endpoint, call))
        except BodyTooLarge:
            raise  # a chunked body ran over the limit while being read: the request stack answers 413
        except Exception as exc:
            return _error_response(endpoint, request, request_id, exc)

    endpoint_app.__name__ = endpoint.operation_id
    return _Route(endpoint.path, endpoint_app, methods=[endpoint.method], name=endpoint.operation_id)


class _Route(Route):
    """A route that rules a path out by its literal start before trying its pattern: the router
    tries the routes one by one, and with hundreds of them the patterns cost more than the request's
    own parsing. (A path its pattern matches always starts with that literal part.)"""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kw: Any) -> None:
        super().__init__(path, endpoint, **kw)
        self.literal = path.split("{", 1)[0]
        self.app = self._answer  # not Starlette's wrapper: the endpoint turns every error into its answer

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not scope.get("root_path") and not scope["path"].startswith(self.literal):
            return Match.NONE, {}
        return super().matches(scope)


async def _read_call(endpoint: Endpoint, request: Request, state: ServerState, request_id: str) -> _Call:
    # Who is calling comes first: an anonymous caller learns nothing about the input rules.
    identity = state.authenticator.identify(request) if endpoint.permission != PUBLIC else None
    kwargs, raw_body = await _read_input(endpoint, request)
    return _Call(
        request=request,
        state=state,
        request_id=request_id,
        identity=identity,
        kwargs=kwargs,
        raw_body=raw_body,
        idempotency_key=_idempotency_key(endpoint, request, identity),
        client_ip=client_ip(request, state.settings.trusted_proxies),
        user_agent=request.headers.get("user-agent", "")[:400],
    )


async def _read_input(endpoint: Endpoint, request: Request) -> tuple[dict[str, Any], bytes]:
    """The handler's keyword arguments (path parameters, validated body and query) and the raw body."""
    body = await _read_body(request, endpoint.body) if endpoint.body else None
    query = _read_query(request, endpoint.query) if endpoint.query else None
    raw_body = await request.body() if endpoint.method in MUTATING else b""
    kwargs: dict[str, Any] = dict(request.path_params)
    if body is not None:
        kwargs["body"] = body
    if query is not None:
        kwargs["query"] = query
    return kwargs, raw_body


def _idempotency_key(endpoint: Endpoint, request: Request, identity: Identity | None) -> str | None:
    """The request's `Idempotency-Key`, honoured on a signed-in caller's mutating request only."""
    key = request.headers.get("idempotency-key")
    if key is None or endpoint.method not in MUTATING or identity is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 8–200 characters of letters, digits and . _ : -",
            code="invalid_idempotency_key",
            field="Idempotency-Key",
        )
    return key


async def _run_limited(endpoint: Endpoint, state: ServerState, run: Callable[[], Response]) -> Response:
    """Run `run` in a worker thread, within the short or the long requests' share."""
    limiters = state.limiters
    # Without its lifespan (some tests): anyio's default pool. So too for quick handlers that
    # touch no database (health): they must not queue behind requests a stalled database holds.
    if limiters is None or not (endpoint.uses_db or endpoint.long_running):
        return await run_in_threadpool(run)
    limiter = limiters.long if endpoint.long_running else limiters.short
    return await anyio.to_thread.run_sync(run, limiter=limiter)


def _run_handler(endpoint: Endpoint, call: _Call) -> Response:
    """In a worker thread: the handler, inside one transaction unless it needs no database."""
    if not endpoint.uses_db:
        return _respond(endpoint, endpoint.handler(call.context(None, None), **call.kwargs))
    engine, gate = call.state.engine, call.state.maintenance
    for attempt in range(2):
        try:
            with gate.admit(), engine.connect() as conn:
                return _in_own_transaction(endpoint, call, conn)
        except _Replay as replay:
            return replay.response
        except _StaleConnection as stale:
            # The pool is not pinged per checkout (a round trip per request); a connection the database
            # dropped (restart, restore) fails its first statement instead, with nothing done yet: the
            # pool starts afresh (its other connections are as dead) and the request runs once more.
            engine.dispose(close=False)
            if attempt:
                raise stale.error from None
    raise AssertionError("unreachable")


def _in_own_transaction(endpoint: Endpoint, call: _Call, conn: Connection) -> Response:
    """The transaction, begun by the request's first round trip rather than by a BEGIN of its own.

    psycopg sends the BEGIN of a transaction it opens as a round trip by itself, so the driver
    connection runs in autocommit for this request and the pipeline of `_open` starts the
    transaction; to SQLAlchemy it is an ordinary one (its commit or rollback ends it). The
    connection goes back to the pool as it came, or not at all.
    """
    raw = psycopg_connection(conn)
    raw.autocommit = True
    try:
        with conn.begin():
            return _in_transaction(endpoint, call, conn)
    finally:
        if not raw.closed and raw.info.transaction_status == TransactionStatus.IDLE:
            raw.autocommit = False
        elif not conn.invalidated:
            conn.invalidate()


def _in_transaction(endpoint: Endpoint, call: _Call, conn: Connection) -> Response:
    principal, claimed = _open(endpoint, call, conn)
    key = call.idempotency_key if principal is not None else None
    if key is not None and not claimed:
        assert principal is not None
        _replay_idempotency_key(conn, principal.tenant_id, key, _request_hash(call.request, call.raw_body))
    ctx = call.context(conn, principal)
    response = _respond(endpoint, endpoint.handler(ctx, **call.kwargs))
    last: list[tuple[str, dict[str, Any]]] = []
    if key is not None and isinstance(response, JSONResponse):
        assert principal is not None
        last.append(_store_idempotent_result(principal.tenant_id, key, response.status_code,
                                             _stored_payload(response, endpoint.shows_secret)))
    # Last: appending holds the company's audit-chain lock until the commit.
    ctx.commit_with_pending_audit(last)
    return response


class _StaleConnection(Exception):
    def __init__(self, error: DBAPIError) -> None:
        self.error = error


def _open(endpoint: Endpoint, call: _Call, conn: Connection) -> tuple[Principal | None, bool]:
    """The request's first round trip: begin, scope the transaction to the caller's company, read the
    live membership and claim the idempotency key, in one pipeline; then check the permission.

    Returns the caller and whether the key (if any) was claimed now. The claim runs before the
    verdict on the caller is known; a refused caller's claim rolls back with the transaction.
    """
    identity = call.identity
    statements: list[tuple[str, Mapping[str, Any] | None]] = [
        ("begin", None),
        (_SET_TENANT, {"tenant": str(identity.tenant_id) if identity else "",
                       "user": str(identity.user_id) if identity else ""})]
    if identity is not None:
        statements.append(call.state.authenticator.access_statement(identity))
        if call.idempotency_key is not None:
            statements.append((_CLAIM_KEY, {"tenant": identity.tenant_id, "key": call.idempotency_key,
                                            "hash": _request_hash(call.request, call.raw_body)}))
    try:
        answers = run_batch(conn, statements, restartable=True)
    except psycopg.Error as exc:
        error = _database_error(conn, exc)
        if psycopg_connection(conn).broken:
            conn.invalidate()  # so that ending the transaction does not talk to it
            raise _StaleConnection(error) from exc
        raise error from exc
    if identity is None:
        return None, False
    note_company(identity.tenant_id)
    access = answers[2]
    principal = call.state.authenticator.admit(access[0] if access else None, identity, endpoint.permission)
    if endpoint.module is not None and call.state.license is not None:
        require_module(call.state.license.in_force(), endpoint.module[1], endpoint.module[0])
    return principal, len(answers) > 3 and bool(answers[3])


def _error_response(endpoint: Endpoint, request: Request, request_id: str, exc: Exception) -> Response:
    """problem+json for an error: the domain's own code, 503 for a lost database, else a logged 500."""
    if isinstance(exc, FactoryOSError):
        return from_error(exc, request_id=request_id, instance=request.url.path)
    if isinstance(exc, DBAPIError) and _connection_lost(exc):
        # Database restarting, or swapped by a restore: worth retrying, not a server bug.
        log.warning("database unavailable in %s %s: %s", endpoint.method, endpoint.path, type(exc.orig).__name__)
        unavailable = DatabaseUnavailable("the database is not reachable right now: try again in a few seconds",
                                          extra={"retry_after": RETRY_AFTER_SECONDS})
        return from_error(unavailable, request_id=request_id, instance=request.url.path)
    if isinstance(exc, DBAPIError):
        log.exception("database error in %s %s (request %s)", endpoint.method, endpoint.path, request_id, exc_info=exc)
    else:
        log.exception("unhandled error in %s %s (request %s)", endpoint.method, endpoint.path, request_id, exc_info=exc)
    return _internal_error(request_id, request.url.path)


def _connection_lost(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or exc.connection_invalidated


def _internal_error(request_id: str, instance: str) -> Response:
    return problem(
        500,
        "internal_error",
        "Internal error",
        "the server could not complete the request; quote the request id to your administrator",
        request_id=request_id,
        instance=instance,
    )


def _respond(endpoint: Endpoint, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if endpoint.status_code == 204:
        return Response(status_code=204)
    if isinstance(result, BaseModel):
        return _RenderedJSON(_adapter(type(result)).dump_json(result), status_code=endpoint.status_code)
    if endpoint.response is not None and result is not None:
        return _RenderedJSON(_adapter(endpoint.response).dump_json(result), status_code=endpoint.status_code)
    return JSONResponse(result, status_code=endpoint.status_code)


class _RenderedJSON(JSONResponse):
    """An answer pydantic rendered to JSON bytes in one pass (the text a dump to JSON-ready Python
    objects and json.dumps over them gave, without those objects in between)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)
