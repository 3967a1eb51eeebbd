"""The unions' disputes, ballots, branches and workplace reps (the unions service)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter

from events.organisations import Organisation
from projections.board.queries import read_board
from services.api.context import application, commit, in_thread, on_board
from services.auth import KEY_OPTIONAL, KEY_REQUIRED, authenticate, check_publisher, optional_viewer
from services.commands import Created, DeclareDispute, RecordBallot, RegisterBranch, RegisterRep
from services.errors import CHANGES_ITEM, CREATES, READ, documented
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED


class DisputeController(Controller):
    path = "/v1/disputes"
    tags = ["industrial"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="declareDispute", status_code=201, responses=CREATES)
    async def declare(self, request: Request, caller: Organisation, data: DeclareDispute) -> Created:
        """Declare a trade dispute with an employer: sector and the issues in dispute."""
        check_publisher(caller, data.org)
        dispute = application(request).declare_dispute(caller.id, data)
        return await commit(request, Created(id=str(dispute.id)), dispute)


class BallotController(Controller):
    path = "/v1/ballots"
    tags = ["industrial"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="recordBallot", status_code=201, responses=CREATES)
    async def record(self, request: Request, caller: Organisation, data: RecordBallot) -> Created:
        """Record a ballot's counts (members entitled to vote, votes cast, yes votes, and
        whether they work in important public services) for this union's dispute and/or
        strike (``refs``): turnout, yes share and the legal thresholds are computed here."""
        check_publisher(caller, data.org)
        ballot = await in_thread(application(request).record_ballot, caller.id, data)
        return await commit(request, Created(id=str(ballot.id)), ballot)


class Rep(msgspec.Struct, frozen=True, kw_only=True):
    """A workplace rep of a branch."""

    id: str
    workplace: str
    role: str | None = None
    name: str | None = None


class BranchView(msgspec.Struct, frozen=True, kw_only=True):
    """A union's branch, as the forum finds it: where it is and who its reps are."""

    id: str
    union: str
    name: str
    region: str | None
    workplaces: list[str]
    contact: str | None
    reps: list[Rep]


class BranchController(Controller):
    path = "/v1/branches"
    tags = ["branches"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="registerBranch", status_code=201, responses=CREATES)
    async def register(self, request: Request, caller: Organisation, data: RegisterBranch) -> Created:
        """Register a branch of this union: its name, region, workplaces and a contact."""
        check_publisher(caller, data.org)
        branch = application(request).register_branch(caller.id, data)
        return await commit(request, Created(id=str(branch.id)), branch)

    @post("/{branch_id:str}/reps", operation_id="registerRep", status_code=201, responses=CHANGES_ITEM)
    async def rep(self, request: Request, caller: Organisation, branch_id: str, data: RegisterRep) -> Created:
        """Register a workplace rep of one of this union's branches."""
        branch, rep = await in_thread(application(request).register_rep, caller.id, branch_id, data)
        return await commit(request, Created(id=rep), branch)


class BranchDirectory(Controller):
    """Where the unions' branches are: what the forum reads to pair local groups and
    branches (served by the forum, with the board's reads)."""

    path = "/api/branches"
    tags = ["board"]
    security = KEY_OPTIONAL

    @get("", operation_id="listBranches", responses=documented(*READ, 400))
    async def list_branches(
        self, request: Request,
        region: Annotated[str | None, Parameter(description="only the branches in this region",
                                                max_length=60)] = None,
    ) -> list[BranchView]:
        """The unions' branches the caller may see (without a key: what every member
        organisation may see), by region then name, with their workplace reps: where a
        local group and a branch can work together."""
        viewer = optional_viewer(request)
        board = await on_board(request, lambda conn: read_board(conn, viewer))
        branches = [item for item in board.items if item.kind == "branch"
                    and (region is None or item.region == region)]
        return [
            BranchView(id=b.id, union=b.org, name=b.detail.get("name", b.title), region=b.region,
                       workplaces=list(b.detail.get("workplaces", [])), contact=b.detail.get("contact"),
                       reps=[Rep(id=rep_id, **rep) for rep_id, rep in sorted(b.detail.get("reps", {}).items())])
            for b in sorted(branches, key=lambda b: (b.region or "", b.detail.get("name", b.title)))
        ]
