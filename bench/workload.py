"""Synthetic trainees: what they do, and how a run of many of them is measured.

Each trainee is an emulated person (`BotApiEmulator.trainee`) in a closed loop: act, wait for
the bot's reply, (think,) act again. One action is one update for the bot; its latency is
from the moment the update is queued at the emulator until the bot's first message (or
edit) in that chat arrives back at the emulator: send-to-reply as the person sees it, with the
delivery (getUpdates or webhook) and the Bot API calls included.

- `TrainingWalk` takes the sample course: enrolls through the deep link, then presses the
  buttons of the latest message (Next, Quiz, answer options, Finish, Start over; sometimes
  Back), answers quiz polls, and now and then asks for /progress. Every step writes progress
  in PostgreSQL and conversation state in Redis.
- `EchoWalk` sends text and expects it back: the baseline of a bare aiogram echo bot.

A reply may be several messages (feedback, then the next question). After the first one the
trainee keeps reading for `linger` seconds so that the rest does not pass for the reply to
its next action.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trainingbot.keyboards.labels import (
    ALL_COURSES,
    BACK,
    CONTINUE,
    ENROLL,
    FINISH,
    NEXT,
    NEXT_LESSON,
    QUIZ,
    RESTART,
)

from bench.stats import Recorder

REPLY_TIMEOUT = 10.0  # seconds; an action not answered within this counts as an error

# The training bot's navigation buttons: the trainee presses these to move on.
FORWARD = (NEXT, QUIZ, NEXT_LESSON, FINISH, CONTINUE, ENROLL, RESTART)
NOT_ANSWERS = {*FORWARD, BACK, ALL_COURSES}


@dataclass
class Budget:
    """When the run stops: after `seconds`, or after `updates` actions, whichever first."""

    seconds: float | None = None
    updates: int | None = None
    started: float = field(default_factory=time.perf_counter)
    taken: int = 0

    def take(self) -> bool:
        if self.seconds is not None and time.perf_counter() - self.started >= self.seconds:
            return False
        if self.updates is not None and self.taken >= self.updates:
            return False
        self.taken += 1
        return True


async def _linger(trainee: Any, seconds: float) -> None:
    """Read whatever else the bot sends for `seconds` after the last message."""
    if seconds <= 0:
        return
    while True:
        try:
            await trainee.next_message(seconds)
        except TimeoutError:
            return


async def send(trainee: Any, text: str, recorder: Recorder, linger: float) -> Any | None:
    started = time.perf_counter()
    await trainee.send(text)
    try:
        message = await trainee.next_message(REPLY_TIMEOUT)
    except TimeoutError:
        recorder.error("no reply")
        return None
    recorder.ok(time.perf_counter() - started)
    await _linger(trainee, linger)
    return message


async def press(
    trainee: Any, label: str, message: Any, recorder: Recorder, linger: float
) -> Any | None:
    started = time.perf_counter()
    answered = asyncio.ensure_future(trainee.press(label, message=message, timeout=REPLY_TIMEOUT))
    try:
        reply = await trainee.next_message(REPLY_TIMEOUT)
    except TimeoutError:
        reply = None
    try:
        await asyncio.wait_for(answered, REPLY_TIMEOUT)
    except (TimeoutError, LookupError, ValueError) as exc:
        recorder.error("button not answered" if isinstance(exc, TimeoutError) else "stale button")
        return None
    if reply is None:
        recorder.error("no reply")
        return None
    recorder.ok(time.perf_counter() - started)
    await _linger(trainee, linger)
    return reply


async def vote(trainee: Any, message: Any, recorder: Recorder, linger: float) -> Any | None:
    started = time.perf_counter()
    option = random.randrange(len(message.poll.options))
    try:
        await trainee.answer_poll([option], message=message)
    except LookupError:
        recorder.error("stale poll")
        return None
    try:
        reply = await trainee.next_message(REPLY_TIMEOUT)
    except TimeoutError:
        recorder.error("no reply")
        return None
    recorder.ok(time.perf_counter() - started)
    await _linger(trainee, linger)
    return reply


class TrainingWalk:
    """A trainee taking the sample course by its buttons and polls."""

    name = "training"
    linger = 0.03

    def __init__(self, course: str = "on-call-101") -> None:
        self.course = course

    async def run(
        self, trainee: Any, budget: Budget, recorder: Recorder, think: Callable[[], float]
    ) -> None:
        rng = random.Random(trainee.user_id)
        if not budget.take():
            return
        await send(trainee, f"/start course_{self.course}", recorder, self.linger)
        while True:
            await asyncio.sleep(think())
            if not budget.take():
                return
            await self.step(trainee, rng, recorder)

    async def step(self, trainee: Any, rng: random.Random, recorder: Recorder) -> None:
        latest = trainee.messages[-1] if trainee.messages else None
        if (
            latest is not None
            and latest.poll is not None
            and not latest.poll.is_closed
            and trainee.user_id not in latest.poll.answers
        ):
            await vote(trainee, latest, recorder, self.linger)
            return
        if rng.random() < 0.05:
            await send(trainee, "/progress", recorder, self.linger)
            return
        keyboard = next((m for m in reversed(trainee.messages[-3:]) if m.buttons), None)
        labels = [label for row in keyboard.buttons for label in row] if keyboard else []
        answers = [label for label in labels if label not in NOT_ANSWERS]
        forward = [label for label in labels if label in FORWARD]
        if answers:
            choice = rng.choice(answers)
        elif forward:
            choice = BACK if BACK in labels and rng.random() < 0.1 else forward[0]
        else:
            await send(trainee, "/continue", recorder, self.linger)
            return
        await press(trainee, choice, keyboard, recorder, self.linger)


class EchoWalk:
    """A person chatting with an echo bot: every message comes back."""

    name = "echo"
    linger = 0.0

    async def run(
        self, trainee: Any, budget: Budget, recorder: Recorder, think: Callable[[], float]
    ) -> None:
        n = 0
        while budget.take():
            n += 1
            await send(trainee, f"hello {n}", recorder, self.linger)
            await asyncio.sleep(think())


async def run_trainees(
    emulator: Any,
    walk: Any,
    users: int,
    budget: Budget,
    *,
    think_time: float = 0.0,
    first_user_id: int = 7_000_000_000,
    recorder: Recorder | None = None,
) -> Recorder:
    """`users` trainees doing `walk` until the budget is spent; their measurements."""
    recorder = recorder or Recorder()
    rng = random.Random(0)

    def think() -> float:
        return rng.uniform(0.5, 1.5) * think_time if think_time > 0 else 0.0

    trainees = [emulator.trainee(first_user_id + i, f"Load {i}") for i in range(users)]

    async def one(trainee: Any) -> None:
        # People arrive one by one, not all in the same millisecond: with a think time, each
        # trainee starts after a pause of its own.
        await asyncio.sleep(think())
        try:
            await walk.run(trainee, budget, recorder, think)
        except Exception as exc:  # a walk must not take the others down
            recorder.error(type(exc).__name__)

    # The harness' own full garbage collections (aiogram and the emulator are some 200 000
    # long-lived objects) would pause every trainee and count as the bot's latency.
    gc.collect()
    gc.freeze()
    tasks = [asyncio.ensure_future(one(t)) for t in trainees]
    try:
        await asyncio.gather(*tasks)
    finally:
        gc.unfreeze()
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*tasks, return_exceptions=True)
    return recorder
