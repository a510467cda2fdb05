#!/usr/bin/env python3
"""Writes monitoring/alerts.yml from the alert rules in src/operator/alerts.py.

    .venv/bin/python scripts/render_monitoring.py           # regenerate monitoring/alerts.yml
    .venv/bin/python scripts/render_monitoring.py --check   # exit 1 if the file is stale
    .venv/bin/python scripts/render_monitoring.py --stdout --selector namespace=team-a ...

The file holds the unscoped rules for a plain Prometheus; the operator renders the same rules,
scoped to one bot, into each TrainingBot's PrometheusRule.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from trainingbot_operator.alerts import prometheus_rule_groups

ROOT = Path(__file__).resolve().parent.parent
ALERTS_FILE = ROOT / "monitoring" / "alerts.yml"
REGENERATE = ".venv/bin/python scripts/render_monitoring.py"

HEADER = f"""\
# GENERATED from src/operator/alerts.py by scripts/render_monitoring.py: do not edit.
# Regenerate with: {REGENERATE}
# Unscoped rules for a plain Prometheus (monitoring/prometheus.yml). On Kubernetes the operator
# renders the same rules, scoped to each bot, into the TrainingBot's PrometheusRule.
# What each alert means and what to do: docs/RUNBOOK.md (each rule's runbook_url).
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the expressions) as literal blocks; no line folding elsewhere."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_rules_file(groups: list[dict], header: str = HEADER) -> str:
    """A Prometheus rules file holding `groups`."""
    body = yaml.dump(
        {"groups": groups}, Dumper=_Dumper, sort_keys=False, width=1_000, allow_unicode=True
    )
    return header + body


def _labels(pairs: list[str]) -> dict[str, str] | None:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        result[name] = value
    return result or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    parser.add_argument(
        "--selector",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scope bot metrics (with --stdout)",
    )
    parser.add_argument(
        "--operator-selector",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scope operator metrics (with --stdout)",
    )
    parser.add_argument("--runbook-base-url", help="absolute base of runbook links (with --stdout)")
    args = parser.parse_args(argv)

    custom = args.selector or args.operator_selector or args.runbook_base_url
    if custom and not args.stdout:
        parser.error(
            "--selector, --operator-selector and --runbook-base-url need --stdout: "
            f"{ALERTS_FILE.relative_to(ROOT)} holds the default, unscoped rules"
        )
    options = {
        "selector": _labels(args.selector),
        "operator_selector": _labels(args.operator_selector),
    }
    if args.runbook_base_url:
        options["runbook_base_url"] = args.runbook_base_url
    text = render_rules_file(prometheus_rule_groups(**options))

    if args.stdout:
        sys.stdout.write(text)
        return 0
    relative = ALERTS_FILE.relative_to(ROOT)
    current = ALERTS_FILE.read_text() if ALERTS_FILE.exists() else None
    if args.check:
        if current != text:
            print(f"{relative} is stale: regenerate it with `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    if current != text:
        ALERTS_FILE.write_text(text)
        print(f"wrote {relative}")
    else:
        print(f"{relative} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
