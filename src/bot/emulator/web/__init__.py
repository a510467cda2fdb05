"""The emulator's chats as a live web page (`ChatPage`), for `training-bot demo`."""

from trainingbot.emulator.web.page import ChatPage, Person

__all__ = ["ChatPage", "Person"]
