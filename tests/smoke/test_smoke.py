"""The runbook's smoke tests: `pytest tests/smoke/ --target=production`.

The same checks as `training-bot smoke` (`trainingbot.smoke`), one test each. They run in a
thread: without --target the bot under test lives in this event loop.
"""

from __future__ import annotations

import asyncio

import pytest

from trainingbot import smoke


async def run(check, target) -> smoke.CheckResult:
    result = await asyncio.to_thread(check, target, 10.0)
    print(result.line())
    return result


async def test_health(smoke_target):
    result = await run(smoke.check_health, smoke_target)
    assert result.ok, result.line()


async def test_ready(smoke_target):
    result = await run(smoke.check_ready, smoke_target)
    assert result.ok, result.line()


async def test_metrics_of_the_design_are_exported(smoke_target):
    result = await run(smoke.check_metrics, smoke_target)
    assert result.ok, result.line()


@pytest.mark.needs_webhook_secret  # collected only for a target with one: see conftest
async def test_a_synthetic_update_goes_through_the_webhook(smoke_target):
    result = await run(smoke.check_webhook, smoke_target)
    assert result.ok, result.line()
