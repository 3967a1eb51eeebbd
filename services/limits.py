"""What a request may be, besides what its command's fields allow: how large, how deeply
nested, and whether its event fits the shared log. Each refusal is a 4xx that says why."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_422_UNPROCESSABLE_ENTITY

from services.translator import TooLargeToPublish, Unpublishable

MAX_BODY = 256 * 1024
"""The largest request body a service reads (413 beyond): a quarter of what NATS carries
in one message; no command's fields come near it."""


class CommandRequest(Request[Any, Any, Any]):
    """A request whose JSON body the decoder refuses other than with a ``DecodeError``
    (which Litestar answers 400) is a 400 too, not an internal error: nested past
    Python's recursion limit (the decoder recurses once per level), or not UTF-8."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ValidationException("the JSON body is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise ValidationException(f"the JSON body is not UTF-8: {exc.reason} at byte {exc.start}") from None


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
