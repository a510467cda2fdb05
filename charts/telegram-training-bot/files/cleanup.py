"""The chart's pre-delete hook: delete the release's TrainingBots while the operator can still
finalize them.

Why: the operator (kopf, with a daemon and a timer per TrainingBot) puts a finalizer on every
TrainingBot. `helm uninstall` deletes custom resources last, after the operator's Deployment
and RBAC, so without this hook the TrainingBots would wait forever for an operator that is gone.
Here they are deleted first and the operator finalizes them; a TrainingBot still there after
FINALIZE_TIMEOUT_SECONDS (no operator running, or a stuck one) has the operator's finalizer
removed, which is safe: its children are owned by it and garbage-collected either way.

Environment: TRAININGBOTS (JSON list of {"namespace", "name"}), FINALIZER,
FINALIZE_TIMEOUT_SECONDS. Runs in the image (in-cluster credentials) or anywhere with a
kubeconfig.
"""

import json
import os
import sys
import time

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

GROUP, VERSION, PLURAL = "trainingbot.dev", "v1alpha1", "trainingbots"


def log(message):
    print(f"cleanup: {message}", flush=True)


def main():
    bots = json.loads(os.environ["TRAININGBOTS"])
    finalizer = os.environ["FINALIZER"]
    timeout = float(os.environ.get("FINALIZE_TIMEOUT_SECONDS", "120"))
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    api = client.CustomObjectsApi()

    def get(bot):
        try:
            return api.get_namespaced_custom_object(
                GROUP, VERSION, bot["namespace"], PLURAL, bot["name"]
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    for bot in bots:
        try:
            api.delete_namespaced_custom_object(
                GROUP, VERSION, bot["namespace"], PLURAL, bot["name"]
            )
            log(f"deleting TrainingBot {bot['namespace']}/{bot['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    remaining = [bot for bot in bots if get(bot)]
    while remaining and time.monotonic() < deadline:
        time.sleep(1)
        remaining = [bot for bot in remaining if get(bot)]
    for bot in remaining:
        found = get(bot)
        if not found:
            continue
        finalizers = found["metadata"].get("finalizers") or []
        log(
            f"TrainingBot {bot['namespace']}/{bot['name']} was not finalized within {timeout:g}s "
            f"(is the operator running?); removing {finalizer} so that the uninstall completes"
        )
        api.patch_namespaced_custom_object(
            GROUP, VERSION, bot["namespace"], PLURAL, bot["name"],
            {"metadata": {"finalizers": [f for f in finalizers if f != finalizer],
                          "resourceVersion": found["metadata"]["resourceVersion"]}},
        )
    log(f"{len(bots)} TrainingBot(s) deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
