"""Session fixtures shared by every tier (registered for `tests/` and `e2e/` by the root
conftest): real services on loopback and a Kubernetes cluster, each started once."""

from __future__ import annotations

import secrets
import signal

import pytest

from tests.support.cluster import KubeCluster, connect_cluster
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


@pytest.fixture(scope="session")
def migrated_template(postgres_server) -> str:
    """A database migrated to head once per session: `database_url` copies it."""
    from trainingbot.db import migrate

    name = f"tmpl_{secrets.token_hex(4)}"
    migrate.upgrade(postgres_server.create_database(name))
    return name


@pytest.fixture
def database_url(postgres_server, migrated_template) -> str:
    """A fresh database at the schema's head, for one test."""
    return postgres_server.create_database(template=migrated_template)


@pytest.fixture
def sentinel_group():
    """A master, a replica and three sentinels, fresh for each test (tests kill masters)."""
    group = SentinelGroup().start()
    yield group
    group.destroy()


@pytest.fixture(scope="session")
def kube() -> KubeCluster:
    """The cluster of this session: KUBECONFIG's, or the local control plane (started here
    and stopped at the end, unless one was already running)."""
    cluster = connect_cluster()
    # A SIGTERM (CI timeout, Ctrl-C in a wrapper) must still run this fixture's teardown.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    yield cluster
    signal.signal(signal.SIGTERM, previous)
    if cluster.started:
        cluster.plane.down(quiet=True)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
def namespace(kube: KubeCluster, request) -> str:
    """A fresh namespace enforcing the restricted Pod Security Standard, deleted afterwards."""
    name = kube.create_namespace(request.node.name)
    yield name
    kube.delete_namespace(name)
