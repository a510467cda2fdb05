"""What an exception was raised from: the library errors our code sees are often wrappers
(aiogram's, asyncpg's pool, our own `UpdateNotRecorded`) around the one that says what
happened (a refused connection, a timeout)."""

from __future__ import annotations

from collections.abc import Iterator


def exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or during, each once (chains can loop)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def caused_by(
    exc: BaseException, types: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    """True when `exc`, or an exception it was raised from, is one of `types`."""
    return any(isinstance(link, types) for link in exception_chain(exc))
