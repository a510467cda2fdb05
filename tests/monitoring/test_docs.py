"""The runbook and the monitoring guide: anchors, links, commands and metric names that hold."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path
from urllib.parse import unquote

import pytest

from trainingbot_operator import alerts

from tests.monitoring.conftest import MONITORING, ROOT, RUNBOOK
from tests.monitoring.test_rules import bot_metric_labels

GUIDE = MONITORING / "README.md"
DOCS = (RUNBOOK, GUIDE)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```|~~~)(?P<info>[^\n`]*)$")


def _blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block, the body dedented by its fence's indent."""
    blocks, current, info, indent = [], None, "", ""
    for line in text.splitlines():
        match = _FENCE.match(line)
        if current is None and match:
            current, info, indent = [], match["info"].strip(), match["indent"]
        elif current is not None and match and match["info"].strip() == "":
            blocks.append((info, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line[len(indent) :] if line.startswith(indent) else line)
    assert current is None, "an unclosed code block"
    return blocks


def _prose(text: str) -> str:
    """The text outside code blocks."""
    lines, inside = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def github_anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for line in _prose(path.read_text()).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        result.add(anchor if count == 0 else f"{anchor}-{count}")
    return result


def test_github_anchor_rules():
    assert github_anchor("TrainingBotDown") == "trainingbotdown"
    assert github_anchor("First five minutes (any alert)") == "first-five-minutes-any-alert"
    assert github_anchor("🚨 Incident Response") == "-incident-response"
    assert github_anchor("Restoring the database from a backup") == (
        "restoring-the-database-from-a-backup"
    )


def test_every_runbook_url_resolves_to_a_runbook_section():
    existing = anchors(RUNBOOK)
    for rule in alerts.alert_rules():
        path, _, anchor = rule.runbook_url.partition("#")
        assert (ROOT / path).resolve() == RUNBOOK.resolve(), rule.runbook_url
        assert anchor in existing, f"docs/RUNBOOK.md has no section #{anchor} for {rule.alert}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_resolve(doc):
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(doc.read_text())):
        if re.match(r"^[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        file = (doc.parent / unquote(path)).resolve() if path else doc
        assert file.exists(), f"{doc.name}: the link {target} names a missing file"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{doc.name}: the link {target} has no such section"


def test_runbook_shell_commands_parse():
    blocks = [body for info, body in _blocks(RUNBOOK.read_text()) if info in ("bash", "sh")]
    assert len(blocks) > 20
    for body in blocks:
        result = subprocess.run(
            ["bash", "-n"], input=textwrap.dedent(body), capture_output=True, text=True
        )
        # Warnings count too: an unterminated here-document is only a warning to bash.
        assert result.returncode == 0 and not result.stderr, f"{result.stderr}\n{body}"


def test_runbook_has_the_commands_the_on_call_engineer_needs():
    text = RUNBOOK.read_text()
    for command in (
        "kubectl get tbot",
        "kubectl describe tbot",
        'kubectl logs deploy/"$BOT"',
        'kubectl port-forward -n "$NS" deploy/"$BOT" 8080:8080',
        "curl http://localhost:8080/health",
        "curl http://localhost:8080/metrics | grep bot_errors_total",
        "curl http://localhost:8080/metrics | grep bot_memory_usage_bytes",
        "redis-cli -p 26379 sentinel masters",
        'psql "$DATABASE_URL" -c "SELECT 1"',
        'kubectl rollout undo deployment/"$BOT"',
        "training-bot smoke --target",
        "pytest tests/smoke/ --target=",
        "./scripts/run_load_test.sh staging 100 5m",
    ):
        assert command in text, command


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_metric_names_in_the_docs_exist(doc):
    known = set(bot_metric_labels()) | set(alerts.OPERATOR_METRICS)
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in known}
    mentioned = set(re.findall(r"\b(?:bot|trainingbot_operator)_[a-z0-9_]+", doc.read_text()))
    mentioned = {m for m in mentioned if not m.startswith("bot_token")}
    assert mentioned, doc
    unknown = mentioned - known - families
    assert not unknown, f"{doc.name} names metrics nobody exports: {sorted(unknown)}"


def test_the_guide_describes_every_metric_and_every_alert():
    text = GUIDE.read_text()
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in bot_metric_labels()}
    for name in sorted(families | set(alerts.OPERATOR_METRICS)):
        assert f"`{name}`" in text, f"monitoring/README.md does not describe {name}"
    for rule in alerts.alert_rules():
        assert f"[{rule.alert}](../docs/RUNBOOK.md#{rule.alert.lower()})" in text, rule.alert
