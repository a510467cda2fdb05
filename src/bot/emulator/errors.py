"""Bot API errors as Telegram words them.

Every failure of a method is an `ApiError` carrying the HTTP status (which is also the
`error_code` of the reply), Telegram's description and, for flood control, the
`parameters.retry_after` that clients such as aiogram turn into `TelegramRetryAfter`.
The texts below are Telegram's own where they are known; tests of the bot match on them.
"""

from __future__ import annotations

from typing import Any

CONFLICT_OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
MESSAGE_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

# Descriptions used by `BotApiEmulator.fail_next` when a test gives only a status code.
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """A method failed; `payload()` is the JSON body Telegram would send."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def conflict(description: str) -> ApiError:
    return ApiError(409, description)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def injected(error_code: int, description: str | None, retry_after: int | None) -> ApiError:
    """The error a test asked for with `fail_next`, worded as Telegram would word it."""
    if error_code == 429:
        seconds = retry_after if retry_after is not None else 1
        error = too_many_requests(seconds)
        if description:
            error.description = description
        return error
    text = description or DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
    parameters = {"retry_after": retry_after} if retry_after is not None else None
    return ApiError(error_code, text, parameters)
