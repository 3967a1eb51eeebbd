"""What a request may be, besides what its command's fields allow: how large, how deeply
nested, JSON of the very types its fields say (no coercion), and whether its event fits the
shared log. Each refusal is a 4xx that says why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_422_UNPROCESSABLE_ENTITY
from litestar.types import Empty

from services.translator import TooLargeToPublish, Unpublishable

#: How a check of a whole body names the field at fault, first: "`region` …" or "audience: …".
_NAMED = re.compile(r"`(\w+)`|(\w+): ")

MAX_BODY = 256 * 1024
"""The largest request body a service reads (413 beyond): a quarter of what NATS carries
in one message; no command's fields come near it."""


class CommandRequest(Request[Any, Any, Any]):
    """A command's JSON body decoded once, straight into its Struct, by a decoder built once
    per Struct: Litestar would decode it into dicts and lists first and then convert those
    into the Struct (the signature model passes a Struct it is given through untouched).

    Decoded so, a body must be of the JSON types its Struct (and so its OpenAPI schema)
    says: Litestar converts leniently (``"40"`` for 40, ``0`` for 1970-01-01, ``"true"`` for
    true), which neither the documents nor the contracts allow; such a body is a 400 that
    names the field, as Litestar's own refusals do. A body the decoder refuses other than
    with a ``DecodeError`` (which Litestar answers 400) is a 400 too, not an internal error:
    nested past Python's recursion limit, or not UTF-8."""

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        body_type = _struct_of(self.route_handler)
        if body_type is None:  # not a command: Litestar's own reading
            with _readable():
                return await super().json()
        body = await self.body()
        try:
            with _readable():
                self._json = _decoder(body_type).decode(body or b"null")
        except msgspec.ValidationError as exc:
            message, _, where = str(exc).partition(" - at `$")
            # a check of the whole body (``__post_init__``) names its field first
            named = _NAMED.match(message)
            key = where.rstrip("`").lstrip(".") or (named.group(1) or named.group(2) if named else "data")
            raise ValidationException(
                f"Validation failed for {self.method} {self.url.path}",
                extra=[{"message": message, "key": key, "source": "body"}],
            ) from None
        except msgspec.DecodeError as exc:  # not JSON: said as Litestar says it
            raise SerializationException(str(exc)) from exc
        return self._json


@contextmanager
def _readable() -> Iterator[None]:
    """The decoder's refusals that are not ``DecodeError``s, as 400s."""
    try:
        yield
    except RecursionError:
        raise ValidationException("the JSON body is nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValidationException(f"the JSON body is not UTF-8: {exc.reason} at byte {exc.start}") from None


@cache
def _decoder(body_type: type[msgspec.Struct]) -> msgspec.json.Decoder[Any]:
    """Strict: JSON of the very types the fields say, no coercion."""
    return msgspec.json.Decoder(body_type, strict=True)


def _struct_of(handler: Any) -> type[msgspec.Struct] | None:
    """The Struct a route's ``data`` is, or None."""
    body = handler.parsed_data_field
    if body is not None and isinstance(body.annotation, type) and issubclass(body.annotation, msgspec.Struct):
        return body.annotation
    return None


def _refused(status: int, detail: str | None = None) -> Any:
    def handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
        return Response({"status_code": status, "detail": detail or str(exc)}, status_code=status,
                        media_type=MediaType.JSON)

    return handler


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    RequestEntityTooLarge: _refused(HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                    f"the request body is larger than {MAX_BODY:,} bytes"),
    TooLargeToPublish: _refused(HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    Unpublishable: _refused(HTTP_422_UNPROCESSABLE_ENTITY),
}
