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
