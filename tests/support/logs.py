"""Reading the bot's JSON log (LOG_FORMAT=json) in tests."""

from __future__ import annotations

import json
from typing import Any


def parse_json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of `text`, parsed; a line that is not JSON fails the test."""
    records = []
    for line in text.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"a log line is not JSON: {line!r}") from None
    return records
