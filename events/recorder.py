"""The services' event-store recorder: eventsourcing's PostgreSQL recorder, answering promptly
when PostgreSQL is away and recovering at once when it is back.

eventsourcing retries every read and write of its recorder ten times, 0.2 s apart, and
each attempt may wait the pool's whole timeout for a connection: with PostgreSQL down a
command would hang for twelve seconds or more before failing. Here a call is tried at most
twice, and the second time only after a connection broke under it: PostgreSQL restarted,
so every idle connection of the pool is as dead as that one; the pool's ``check()`` throws
them all out at once (a check on loan would find them one by one, a second apart) and the
second try gets a fresh connection. When the pool found no connection within its timeout
(``POSTGRES_CONNECT_TIMEOUT``), the call is not tried again: that would only wait again. The
caller gets eventsourcing's ``OperationalError`` (a ``503``) within about a second.

The pool also gives up on a lost connection after ``RECONNECT_WITHIN`` seconds rather than
five minutes, so that its backing-off retries do not outlast PostgreSQL's absence: a caller
waiting afterwards has it connect afresh.

Chosen with ``APPLICATION_RECORDER_TOPIC`` (``events.settings.DatabaseParams``), as
:class:`ServiceRecorder`, which also keeps the first answers to idempotent commands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier, Literal
from psycopg_pool import PoolTimeout

#: Seconds a pool keeps retrying one lost connection before it gives up on it (psycopg's
#: default is 300, backing off to a minute between tries).
RECONNECT_WITHIN = 2.0


def _once(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` without eventsourcing's retry decorator."""
    return getattr(method, "__wrapped__", method)


class PromptRecorder(PostgresApplicationRecorder):
    """``PostgresApplicationRecorder`` whose calls fail within about a second when
    PostgreSQL cannot be reached, and succeed at once when it has come back."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        datastore.pool.reconnect_timeout = RECONNECT_WITHIN

    def _prompt(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (InterfaceError, OperationalError) as exc:
            if isinstance(exc.__cause__, PoolTimeout):
                raise
            self.datastore.pool.check()  # the others are broken too: replace them all now
            return method(self, *args, **kwargs)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        return self._prompt(_once(PostgresApplicationRecorder.insert_events), stored_events, **kwargs)

    def select_events(self, originator_id: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        return self._prompt(_once(PostgresApplicationRecorder.select_events), originator_id, **kwargs)

    def select_notifications(self, start: int | None, limit: int, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        return self._prompt(_once(PostgresApplicationRecorder.select_notifications), start, limit, *args, **kwargs)

    def max_notification_id(self) -> int | None:
        return self._prompt(_once(PostgresApplicationRecorder.max_notification_id))


class Answer(NamedTuple):
    """The first answer to an idempotent command (IETF httpapi ``Idempotency-Key``): kept in
    the store's own schema, written in the transaction that stores the command's events."""

    org: str
    key: str
    body_sha256: str
    status: int
    body: bytes


#: How long a key holds its first answer; after that the key may be used afresh.
ANSWERS_KEPT = "24 hours"


class ServiceRecorder(PromptRecorder):
    """A service's recorder: ``PromptRecorder`` that also records, in the same transaction as
    the events, the answers to the commands sent with an ``Idempotency-Key``
    (``Application.save(..., answers=[Answer, …])``). The key is the table's primary key: of
    two concurrent commands with one key, the second's whole transaction fails, and its
    caller finds the first answer instead."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.answers = SQL("{}.{}").format(Identifier(datastore.schema), Identifier("idempotency"))
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {} (org text NOT NULL, key text NOT NULL, "
            "body_sha256 text NOT NULL, status integer NOT NULL, body bytea NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (org, key))"
        ).format(self.answers))

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        answers: Sequence[Answer] = kwargs.get("answers") or ()
        if answers:
            # Two statements per transaction, whatever the number of commands in it: the
            # transaction holds the store's table lock, so every statement in it is paid by
            # every writer waiting behind it. An expired answer gives its key back; a live
            # one makes the insert fail, and with it the whole transaction.
            orgs, keys, digests, statuses, bodies = (list(column) for column in zip(*answers))
            curs.execute(SQL("DELETE FROM {} WHERE (org, key) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                             "AND created_at < now() - %s::interval").format(self.answers),
                         (orgs, keys, ANSWERS_KEPT))
            curs.execute(SQL("INSERT INTO {} (org, key, body_sha256, status, body) SELECT * FROM "
                             "unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::bytea[])").format(self.answers),
                         (orgs, keys, digests, statuses, bodies))
        super()._insert_events(curs, stored_events, **kwargs)

    def first_answer(self, org: str, key: str) -> Answer | None:
        """The answer given to ``org``'s command with ``key`` in the last 24 hours, if any."""
        def select(recorder: ServiceRecorder) -> Answer | None:
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(first_answer_query(recorder.datastore.schema), (org, key))
                row = curs.fetchone()
            return None if row is None else Answer(*row.values())

        return self._prompt(select)  # type: ignore[no-any-return]


def first_answer_query(schema: str) -> Composed:
    """The one query of a first answer (by ``org`` and ``key``), for this recorder and for
    the services' asynchronous pools alike; its columns are ``Answer``'s fields."""
    return SQL("SELECT org, key, body_sha256, status, body FROM {}.{} WHERE org = %s AND key = %s "
               "AND created_at >= now() - {}::interval").format(
        Identifier(schema), Identifier("idempotency"), Literal(ANSWERS_KEPT))
