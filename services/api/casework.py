"""Casework of the movement's legal and pastoral support unit.

The commands (the movement's key) open a case for an attack on the board, refer it, record
its steps and its outcome; the shared log gets only the safe summary of each
(``contracts.movement``). The whole case — the member's name, every note — is answered to
one kind of caller only: a caseworker the case names, logging in with their own account
(``Authorization: Basic``, the same accounts and Argon2 hashes as the board's log-in,
``services.accounts``), marked RED for them. The movement's database role sees only its
own organisations' accounts (row-level security, ``coalition.roles``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import anyio
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException

from contracts.movement import CaseOutcome, CaseStage, Referral
from events.organisations import Organisation
from services.accounts import SELECT, Account, account_of, verify
from services.api.context import application, commit, in_thread, visible_item
from services.auth import CASEWORKER_REQUIRED, KEY_REQUIRED, FailedAuthentications, authenticate
from services.commands import Accepted, CloseCase, Created, OpenCase, RecordCaseStep, ReferCase
from services.domain.casework import Case, Entry
from services.domain.errors import ItemNotFound, UnknownReference
from services.errors import CHANGES_ITEM, CREATES, READS_ITEM
from services.idempotency import PARAMETERS as IDEMPOTENCY
from services.idempotency import RESPONSE_HEADERS as REPLAYED

class CaseFile(msgspec.Struct, frozen=True, kw_only=True):
    """A whole case, for the caseworkers it names: personal data, marked RED for them."""

    id: str
    attack: str
    member: str
    caseworkers: list[str]
    stage: CaseStage
    referrals: list[Referral]
    outcome: CaseOutcome | None
    entries: list[Entry]
    opened_at: datetime
    tlp: str = "RED"
    audience: list[str] = []
    """the people who may read it: the caseworkers"""


def case_file(case: Case) -> CaseFile:
    return CaseFile(id=str(case.id), attack=case.attack, member=case.member, caseworkers=list(case.caseworkers),
                    stage=case.stage, referrals=list(case.referrals), outcome=case.outcome,
                    entries=list(case.entries), opened_at=case.entries[0].at, audience=list(case.caseworkers))


async def caseworker(request: Request) -> Account:
    """The person logging in with ``Authorization: Basic``: an account of one of this
    service's organisations, with the right password; else 401 (429 after too many failures,
    counted with the API keys' failures)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise NotAuthorizedException("log in as a caseworker: send Authorization: Basic <username:password>",
                                     headers={"WWW-Authenticate": 'Basic realm="casework"'})
    try:
        username, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthorizedException("malformed Basic credentials") from None
    address = request.client.host if request.client else "unknown"
    who = (f"address {address}", f"caseworker {username}")
    failures: FailedAuthentications = request.app.state.failed_authentications
    wait = failures.retry_after(*who)
    if wait is not None:
        raise TooManyRequestsException("too many failed authentications: try again later",
                                       headers={"Retry-After": str(wait)})
    async with request.app.state.pool.connection() as conn:
        account = account_of(await (await conn.execute(SELECT, [username])).fetchone())
    ours = {o.id for o in request.app.state.keyring.values() if o.service == request.app.state.service}
    if account is not None and account.org not in ours:
        account = None  # the database's rule already hides them: checked here as well
    if not await anyio.to_thread.run_sync(verify, account, password) or account is None:
        failures.failed(*who)
        raise NotAuthorizedException("unknown caseworker or wrong password")
    return account


class CaseController(Controller):
    path = "/v1/cases"
    tags = ["casework"]
    dependencies = {"caller": Provide(authenticate, sync_to_thread=False)}
    parameters = IDEMPOTENCY
    response_headers = REPLAYED
    security = KEY_REQUIRED

    @post("", operation_id="openCase", status_code=201, responses=CREATES)
    async def open(self, request: Request, caller: Organisation, data: OpenCase) -> Created:
        """Open a case for a member hit by an attack on the board: the member's name and the
        note stay in this service; the board learns only that the attack has support."""
        try:
            shared_as = await visible_item(request, data.attack, caller.id, kind="attack")
        except ItemNotFound:
            raise UnknownReference("attack", f"`attack`: no attack with id {data.attack} on the board") from None
        case = application(request).open_case(caller.id, shared_as, data)
        return await commit(request, Created(id=str(case.id)), case)

    @post("/{case_id:str}/referrals", operation_id="referCase", status_code=201, responses=CHANGES_ITEM)
    async def refer(self, request: Request, caller: Organisation, case_id: str, data: ReferCase) -> Accepted:
        """Refer a case: legal advice, pastoral support, appeal drafting."""
        case = await in_thread(application(request).refer_case, caller.id, case_id, data)
        return await commit(request, Accepted(id=case_id, version=case.version), case)

    @post("/{case_id:str}/steps", operation_id="recordCaseStep", status_code=201, responses=CHANGES_ITEM)
    async def step(self, request: Request, caller: Organisation, case_id: str, data: RecordCaseStep) -> Accepted:
        """Record a step taken on a case (its note stays in this service)."""
        case = await in_thread(application(request).record_case_step, caller.id, case_id, data)
        return await commit(request, Accepted(id=case_id, version=case.version), case)

    @post("/{case_id:str}/outcome", operation_id="closeCase", status_code=201, responses=CHANGES_ITEM)
    async def close(self, request: Request, caller: Organisation, case_id: str, data: CloseCase) -> Accepted:
        """Record a case's outcome (reinstated, appeal lost…): the case is closed."""
        case = await in_thread(application(request).close_case, caller.id, case_id, data)
        return await commit(request, Accepted(id=case_id, version=case.version), case)


class CaseFileController(Controller):
    """The case read by a caseworker it names: apart from the commands, as it takes no
    Idempotency-Key and no organisation's key, only the person's own account."""

    path = "/v1/cases"
    tags = ["casework"]

    @get("/{case_id:str}", operation_id="readCase", responses=READS_ITEM, security=CASEWORKER_REQUIRED,
         dependencies={"person": Provide(caseworker)})
    async def read(self, request: Request, person: Account, case_id: str) -> CaseFile:
        """The whole case, for a caseworker it names (any other is answered 404, as an unknown case)."""
        case = await in_thread(application(request).case, person.org, case_id)
        if person.username not in case.caseworkers:
            raise ItemNotFound(f"no case with id {case_id}")
        return case_file(case)
