"""The auditor's pages: an item's timeline (``/items/{id}``), the decisions (``/decisions``)
and one decision (``/decisions/{id}``), each with the board position and digest it was
taken on and a link to the board as it stood then.

They show what the JSON reads show (``board_reads``), read through the same queries as
the same viewer — the key's organisation, else the logged-in person's, else the open
view — and offer the same answers to download. An item or decision the viewer may not
see is answered exactly as an unknown one: the same ``404`` page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template
from litestar.status_codes import HTTP_404_NOT_FOUND
from psycopg import AsyncConnection

from projections.board.queries import find_decision, heading, item_timeline, list_decisions, titles
from services.api.board_page import environment, viewer_of
from services.api.context import on_board

#: Kinds of events on a timeline that belong to a decision (its page has them in full).
DECISION_EVENTS = ("decision.proposed", "decision.position_taken", "decision.made")


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Template:
    environment(request)
    here = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return Template(template_name=name, status_code=status_code,
                    context={"who": viewer_of(request), "here": here, "now": datetime.now(UTC), **context})


def _not_found(request: Request, what: str, ident: str) -> Template:
    return _page(request, "not_found.html.j2", HTTP_404_NOT_FOUND, what=what, ident=ident)


def decision_of(kind: str) -> bool:
    """Whether an event kind (``decision.made.v1``) is a decision's."""
    return kind.rsplit(".v", 1)[0] in DECISION_EVENTS


class AuditPagesController(Controller):
    path = "/"
    tags = ["board"]
    include_in_schema = False

    @get("/items/{item_id:str}", operation_id="itemPage")
    async def item(self, request: Request, item_id: str) -> Template:
        """An item's timeline for people: every event that concerns it, with organisation,
        person and time, each linked to the board as it stood just after it."""
        who = viewer_of(request)

        async def read(conn: AsyncConnection) -> tuple[Any, Any]:
            shown = await heading(conn, item_id, who.org)
            return shown, (await item_timeline(conn, item_id, who.org) if shown else None)

        shown, entries = await on_board(request, read)
        if shown is None or entries is None:
            return _not_found(request, "item", item_id)
        return _page(request, "timeline.html.j2", item=shown, entries=entries, decision_of=decision_of)

    @get("/decisions", operation_id="decisionsPage")
    async def decisions(self, request: Request) -> Template:
        """Every decision the viewer may see, newest first, with its outcome and the board
        position it was taken on."""
        who = viewer_of(request)
        found = await on_board(request, lambda conn: list_decisions(conn, who.org))
        return _page(request, "decisions.html.j2", decisions=found)

    @get("/decisions/{decision_id:str}", operation_id="decisionPage")
    async def decision(self, request: Request, decision_id: str) -> Template:
        """One decision for an auditor: who proposed what, when, how and on which evidence;
        each organisation's positions; the outcome; the board positions and digests it was
        taken on, with the board as it stood then and how to check the digest."""
        who = viewer_of(request)

        async def read(conn: AsyncConnection) -> tuple[Any, Any, dict[str, Any]]:
            found = await find_decision(conn, decision_id, who.org)
            if found is None:
                return None, None, {}
            return found, await item_timeline(conn, decision_id, who.org), await titles(conn, found.evidence,
                                                                                          who.org)

        found, entries, named = await on_board(request, read)
        if found is None:
            return _not_found(request, "decision", decision_id)
        made = next((e for e in reversed(entries or []) if e.kind.startswith("decision.made.")), None)
        return _page(request, "decision.html.j2", d=found, entries=entries or [], titles=named,
                     decided_org=made.org if made else None, decision_of=decision_of)
