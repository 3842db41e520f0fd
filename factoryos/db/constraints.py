"""Database constraint violations turned into domain errors that name the field.

Services check the common cases first for a friendly message; the constraints stay the
race-proof backstop, and `constraint_errors` maps what slips through to a 409/422 instead
of a 500. It runs the statements in a savepoint so the request transaction survives.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from factoryos.errors import FactoryOSError


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


@contextmanager
def constraint_errors(
    conn: Connection,
    errors: Mapping[str, FactoryOSError],
    *,
    fallback: FactoryOSError | None = None,
) -> Iterator[None]:
    """Raise `errors[name]` when the constraint `name` rejects a statement in the block,
    or `fallback` for any other integrity error (e.g. a delete still referenced)."""
    try:
        with conn.begin_nested():
            yield
    except IntegrityError as exc:
        mapped = errors.get(constraint_name(exc) or "", fallback)
        if mapped is None:
            raise
        raise mapped from None
