"""Domain errors: small exception classes beside the model (mapped to HTTP once, in
``services.errors``)."""


class DomainError(Exception):
    """A command the model refuses; the message names the problem."""


class ItemNotFound(DomainError):
    """No such item in this service's store (or not visible to the caller)."""


class NotYourItem(DomainError):
    """An organisation acted on an item another organisation published."""


class AlreadyResolved(DomainError):
    """The attack already has an outcome."""


class Conflict(DomainError):
    """A command that the item's current state refuses (answered 409, naming the state)."""


class AlreadyAcknowledged(Conflict):
    """The item was acknowledged (or moved further) already."""


class NotReopened(Conflict):
    """A resolved or closed item set back to an open status without saying so."""


class AlreadyOpen(Conflict):
    """The item has a response already."""


class TaskAlreadyDone(Conflict):
    """A task is done once."""


class AlreadyDecided(Conflict):
    """The decision has its outcome: no more positions, no second outcome."""


class Blocked(Conflict):
    """A consent decision cannot be made while an organisation blocks it."""


class NoMajority(Conflict):
    """A majority decision needs more organisations agreeing than disagreeing."""


class AlreadyEscalated(Conflict):
    """The item was escalated already (by this process or another)."""


class NotAnOption(DomainError):
    """The outcome is not one of the options the proposal put (answered 422)."""


class ReadOnly(DomainError):
    """An observer may look but not change anything (answered 403)."""


class UnknownReference(DomainError):
    """A body names an item (a local group, an attack) the caller has not got or may not
    see: a 400 naming the field (``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
