"""What a request may be, besides what its command's fields allow: how large, how deeply
nested, JSON of the very types its fields say (no coercion), and whether its event fits the
shared log. Each refusal is a 4xx that says why."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_422_UNPROCESSABLE_ENTITY

from services.translator import TooLargeToPublish, Unpublishable

#: How a check of a whole body names the field at fault, first: "`region` …" or "audience: …".
_NAMED = re.compile(r"`(\w+)`|(\w+): ")

MAX_BODY = 256 * 1024
"""The largest request body a service reads (413 beyond): a quarter of what NATS carries
in one message; no command's fields come near it."""


class CommandRequest(Request[Any, Any, Any]):
    """A request whose JSON body the decoder refuses other than with a ``DecodeError``
    (which Litestar answers 400) is a 400 too, not an internal error: nested past
    Python's recursion limit (the decoder recurses once per level), or not UTF-8.

    And a command's body must be of the JSON types its Struct (and so its OpenAPI schema)
    says: Litestar converts bodies leniently (``"40"`` for 40, ``0`` for 1970-01-01, ``"true"``
    for true), which neither the documents nor the contracts allow; such a body is a 400
    that names the field, as Litestar's own refusals do."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise ValidationException("the JSON body is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise ValidationException(f"the JSON body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        body = self.route_handler.parsed_data_field
        if body is not None and isinstance(body.annotation, type) and issubclass(body.annotation, msgspec.Struct):
            try:
                msgspec.convert(value, body.annotation, strict=True)
            except msgspec.ValidationError as exc:
                message, _, where = str(exc).partition(" - at `$")
                # a check of the whole body (``__post_init__``) names its field first
                named = _NAMED.match(message)
                key = where.rstrip("`").lstrip(".") or (named.group(1) or named.group(2) if named else "data")
                raise ValidationException(
                    f"Validation failed for {self.method} {self.url.path}",
                    extra=[{"message": message, "key": key, "source": "body"}],
                ) from None
        return value


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
