"""Finding what an exception was raised from."""

from __future__ import annotations

from trainingbot.causes import caused_by, exception_chain


def _raised_from(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except Exception as wrapped:
        return wrapped


def test_the_cause_is_found_through_wrappers():
    exc = _raised_from(
        RuntimeError("pool"), _raised_from(ValueError("x"), ConnectionRefusedError())
    )
    assert [type(e) for e in exception_chain(exc)] == [
        RuntimeError,
        ValueError,
        ConnectionRefusedError,
    ]
    assert caused_by(exc, ConnectionError)
    assert caused_by(exc, (KeyError, ValueError))
    assert not caused_by(exc, KeyError)


def test_a_chain_that_loops_ends():
    first, second = ValueError("a"), KeyError("b")
    first.__cause__, second.__cause__ = second, first
    assert list(exception_chain(first)) == [first, second]
    assert not caused_by(first, TimeoutError)
