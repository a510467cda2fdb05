"""Fixtures shared by every tier: real services on loopback, started once per session."""

from __future__ import annotations

import pytest

from tests.support.services import PostgresServer, RedisServer, SentinelGroup


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster of this test session (superuser with a password, on loopback)."""
    server = PostgresServer().init().start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server():
    """A plain Redis of this test session."""
    server = RedisServer().start()
    yield server
    server.destroy()


@pytest.fixture
def sentinel_group():
    """A master, a replica and three sentinels, fresh for each test (tests kill masters)."""
    group = SentinelGroup().start()
    yield group
    group.destroy()
