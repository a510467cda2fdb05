"""The TrainingBot operator (kopf): runs the bot by its production runbook.

`main` is the command line, `handlers` wires kopf to the rest; `models`, `naming`, `specs`
and `rollout` are pure; `k8s` is the thin layer that talks to the API server.
"""
