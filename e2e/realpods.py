"""What only a cluster with real pods can show, as a person at a terminal reaches it: a port
forwarded to the Bot API emulator inside the cluster, and trainees talking to the bot through it
(`training-bot emulator` serves them under /_trainees/, see trainingbot/emulator/control.py).

Everything here talks to 127.0.0.1 (kubectl's port-forward) and to pods of the test's own kind
cluster; nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from e2e.platform import Platform


@contextlib.contextmanager
def port_forward(platform: Platform, target: str, port: int) -> Iterator[str]:
    """`kubectl port-forward TARGET :PORT`; yields http://127.0.0.1:<local port>."""
    kube = platform.kube
    proc = subprocess.Popen(
        [kube._tool("kubectl"), "port-forward", "-n", platform.namespace, target, f":{port}"],
        env=kube.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not match:
            raise AssertionError(f"kubectl port-forward {target} said: {line!r}")
        yield f"http://127.0.0.1:{match[1]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class RemoteTrainee:
    """One trainee of the in-cluster emulator, with the verbs of the in-process `Trainee`."""

    base_url: str
    user_id: int

    def _call(self, method: str, verb: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}/_trainees/{self.user_id}/{verb}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{verb}: {error.code} {error.read().decode()}") from None

    def messages(self) -> list[dict]:
        return self._call("GET", "messages")["messages"]

    def send(self, text: str) -> None:
        self._call("POST", "send", {"text": text})

    def press(self, label: str) -> str | None:
        return self._call("POST", "press", {"label": label})["answer"]

    def answer_poll(self, options: list[int]) -> None:
        self._call("POST", "poll", {"options": options})

    def last_id(self) -> int:
        messages = self.messages()
        return messages[-1]["message_id"] if messages else 0

    def new_since(self, message_id: int) -> list[dict]:
        return [m for m in self.messages() if m["message_id"] > message_id]

    def wait_new(self, since: int, count: int = 1, timeout: float = 60) -> list[dict]:
        """Wait until the bot has sent `count` messages after `since`; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.new_since(since)
            if len(new) >= count:
                return new
            time.sleep(0.3)
        raise AssertionError(
            f"trainee {self.user_id}: {count} new message(s) expected within {timeout:g}s, "
            f"got {self.new_since(since)}"
        )

    def say(self, text: str, timeout: float = 60) -> dict:
        """Send `text` and return the one reply it gets."""
        since = self.last_id()
        self.send(text)
        return self.wait_new(since, 1, timeout)[0]


def in_cluster_get(platform: Platform, url: str) -> tuple[int, str]:
    """GET `url` from inside the cluster (from the emulator's pod, which has Python)."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        f"    r = urllib.request.urlopen({url!r}, timeout=5)\n"
        "    print(r.status); print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code); print(e.read().decode())\n"
    )
    out = platform.kubectl("exec", "deploy/e2e-bot-api", "--", "python3", "-c", script).stdout
    status, _, body = out.partition("\n")
    return int(status), body
