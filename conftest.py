"""Registers the fixtures shared by `tests/` and `e2e/` (pytest takes plugins only here)."""

pytest_plugins = ["tests.support.fixtures"]
