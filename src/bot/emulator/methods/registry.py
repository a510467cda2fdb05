"""The table of Bot API methods the emulator serves, keyed case-insensitively as Telegram is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from trainingbot.emulator.params import Params
from trainingbot.emulator.state import EmulatorState

Handler = Callable[[EmulatorState, Params], Awaitable[Any]]

_METHODS: dict[str, tuple[str, Handler]] = {}


@dataclass(frozen=True)
class Described:
    """A result that Telegram sends with a `description` beside it (setWebhook does)."""

    result: Any
    description: str


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for the Bot API method `name`."""

    def register(handler: Handler) -> Handler:
        _METHODS[name.lower()] = (name, handler)
        return handler

    return register


def lookup(name: str) -> tuple[str, Handler] | None:
    """The method's canonical name and handler, or None if the emulator does not serve it."""
    return _METHODS.get(name.lower())


def served_methods() -> list[str]:
    return sorted(canonical for canonical, _ in _METHODS.values())
