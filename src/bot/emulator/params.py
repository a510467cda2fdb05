"""Method parameters from any request shape Telegram accepts.

Telegram takes parameters from the query string and from a JSON, form-urlencoded or
multipart body, with GET or POST. In forms every value is a string and objects (a keyboard,
a list of poll options) are JSON inside that string; in a JSON body they may be either.
`Params` hides the difference: `integer("chat_id")` is an int whichever way it came.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from trainingbot.emulator.errors import ApiError, bad_request


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str | None = None


_MISSING = object()


class Params:
    """The parameters of one method call, with typed accessors that fail like Telegram."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile] | None = None):
        self.values = values
        self.files = files or {}

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.files

    def as_dict(self) -> dict[str, Any]:
        """Everything, files included, for the request log."""
        if not self.files:
            return dict(self.values)
        return {**self.values, **self.files}

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be a valid Number')

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json(self, name: str, what: str | None = None) -> Any:
        """A JSON-typed parameter (object or array), decoded if it came as a string."""
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(what or f"can't parse {name} JSON object") from None

    def file(self, name: str) -> UploadedFile | str | None:
        """An input file: an uploaded part (directly or as attach://part), or a file_id/URL."""
        if name in self.files:
            return self.files[name]
        value = self.text(name)
        if value is None:
            return None
        if value.startswith("attach://"):
            return self.files.get(value[len("attach://") :])
        return value


async def read_params(request: web.Request, max_upload_bytes: int) -> Params:
    """Collect the query string and the body of `request` into `Params`."""
    values: dict[str, Any] = dict(request.query) if request.query_string else {}
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.body_exists:
        return Params(values)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("JSON-encoded request must be an object")
        values.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        total = 0
        while (part := await reader.next()) is not None:
            if part.name is None:
                continue
            if part.filename is not None:
                data = await part.read(decode=False)
                total += len(data)
                if total > max_upload_bytes:
                    raise ApiError(413, "Request Entity Too Large")
                files[part.name] = UploadedFile(
                    part.filename, bytes(data), part.headers.get("Content-Type")
                )
            else:
                values[part.name] = await part.text()
    else:
        # Form-urlencoded, and whatever else a client sends: Telegram reads it as a form.
        form = await request.post()
        values.update({key: value for key, value in form.items() if isinstance(value, str)})
    return Params(values, files)
