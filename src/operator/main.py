"""`training-bot-operator`: run the TrainingBot operator (kopf) with the project's settings.

    training-bot-operator --namespace team-a [--namespace team-b]   # these namespaces
    training-bot-operator --all-namespaces                         # the whole cluster

Credentials: the Pod's ServiceAccount in a cluster, else $KUBECONFIG (or ~/.kube/config).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import kopf

from trainingbot_operator import metrics
from trainingbot_operator.settings import DEFAULT_PEERING_NAME, Options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="training-bot-operator",
        description="Run the TrainingBot operator: migrations, rollouts, rollbacks, monitoring.",
    )
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        metavar="NS",
        help="watch this namespace (repeatable)",
    )
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch every namespace (needs the cluster-wide RBAC)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="serve trainingbot_operator_* on :PORT/metrics (0: off; default 8080)",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=8081,
        metavar="PORT",
        help="liveness probe on :PORT/healthz (0: off; default 8081)",
    )
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument(
        "--peering",
        metavar="NAME",
        help="the KopfPeering (or ClusterKopfPeering) object shared with other "
        "replicas; it must exist (default: "
        f"{DEFAULT_PEERING_NAME} when it exists, else standalone)",
    )
    peering.add_argument(
        "--standalone", action="store_true", help="no peering: the only copy of the operator"
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority: a replica seeing a higher one pauses",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="json",
        help="log lines as JSON (default, for log collectors) or text",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_format = kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(verbose=args.verbose, log_format=log_format)
    if not args.verbose:
        # kopf logs every handled watch event ("Handler 'x' succeeded") at INFO: keep its
        # warnings, and the operator's own INFO lines (one per rollout step).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)

    import trainingbot_operator.handlers  # noqa: F401  (registers the handlers)

    if args.metrics_port:
        metrics.serve(args.metrics_port)
    liveness = f"http://0.0.0.0:{args.health_port}/healthz" if args.health_port else None
    kopf.run(
        clusterwide=args.all_namespaces,
        namespaces=args.namespaces or (),
        standalone=True if args.standalone else None,
        peering_name=args.peering,
        priority=args.priority,
        liveness_endpoint=liveness,
        memo=kopf.Memo(
            options=Options(
                metrics_port=args.metrics_port,
                health_port=args.health_port,
                clusterwide=args.all_namespaces,
                namespaces=tuple(args.namespaces or ()),
            )
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
