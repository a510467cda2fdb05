"""kopf's settings, chosen deliberately (applied by the startup handler)."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import kopf

from trainingbot_operator import naming

#: The peering object's name when `--peering` is not given (used if it exists, else standalone).
DEFAULT_PEERING_NAME = "trainingbot-operator"
#: The periodic full resync of every TrainingBot: static children re-applied, monitoring CRDs
#: looked up, status.lastSyncTime written (which the watch then delivers: a heartbeat for
#: `trainingbot_operator_watch_event_age_seconds`). With no TrainingBot, the idle-watch check
#: (`watchdog`) runs at the same interval instead.
RESYNC_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    """What the command line decides beyond kopf's own arguments."""

    metrics_port: int | None = None
    health_port: int | None = None
    #: What the operator serves: every namespace, or these (kopf also accepts patterns here).
    #: Neither (e.g. under `kopf run`): unknown to the operator's own code.
    clusterwide: bool = False
    namespaces: tuple[str, ...] = ()


def configure(settings: kopf.OperatorSettings) -> None:
    # Our own names for what kopf writes on TrainingBots: nothing under kopf.zalando.org.
    settings.persistence.finalizer = f"{naming.PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=naming.PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=naming.PREFIX, key="last-handled-configuration"
    )

    # A watch the API server keeps open forever can die silently (a proxy or load balancer
    # dropping it): ask the server to end each watch after 5 minutes, give up on our side a
    # little later, and treat 70 s without any event or bookmark (bookmarks come every minute)
    # as a dead stream. kopf resumes from the last resourceVersion each time.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.watching.inactivity_timeout = 70
    settings.networking.connect_timeout = 10
    settings.networking.request_timeout = 60

    # Events: the operator posts its own step events (kopf.event); of kopf's log lines only
    # warnings and errors become Events, so `kubectl describe tbot` stays readable.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = naming.MANAGED_BY
    settings.posting.reporting_instance = os.environ.get("POD_NAME") or socket.gethostname()
    settings.posting.event_name_prefix = f"{naming.MANAGED_BY}-"

    # Peering: unless --peering or --standalone decided it, use ours when it exists.
    if not settings.peering.mandatory and settings.peering.name == "default":
        settings.peering.name = DEFAULT_PEERING_NAME
