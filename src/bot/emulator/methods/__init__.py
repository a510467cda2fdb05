"""The Bot API methods the emulator serves, one module per area; importing this package
registers them all."""

from trainingbot.emulator.methods import bot, callbacks, messages, polls, updates
from trainingbot.emulator.methods.registry import Described, lookup, served_methods

__all__ = [
    "Described",
    "bot",
    "callbacks",
    "lookup",
    "messages",
    "polls",
    "served_methods",
    "updates",
]
