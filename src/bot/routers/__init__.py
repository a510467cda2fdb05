"""One router per feature, combined in one ordered list (order matters: see `build_routers`)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    """Fresh routers (a router can belong to one dispatcher only; tests build several)."""
    from trainingbot.routers import fallback, lessons, progress, quiz, review, start, trainer

    return [
        # Trainer commands first: their refusal for non-trainers must win over any other
        # handler that might read "/stats" as an unknown command.
        trainer.build(),
        start.build(),
        lessons.build(),
        progress.build(),
        review.build(),
        # Quiz answers, and the reminder for text typed while a question waits; before the
        # fallback so that the reminder wins over the generic help.
        quiz.build(),
        # Last: catches whatever nothing above handled (unknown commands, free text, button
        # data that does not parse).
        fallback.build(),
    ]
