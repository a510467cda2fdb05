"""Methods about the bot itself: getMe, its command menu, close and logOut."""

from __future__ import annotations

import json
import re
from typing import Any

from trainingbot.emulator.errors import bad_request
from trainingbot.emulator.methods.registry import method
from trainingbot.emulator.params import Params
from trainingbot.emulator.state import EmulatorState

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_MAX_COMMANDS = 100


@method("getMe")
async def get_me(state: EmulatorState, params: Params) -> dict[str, Any]:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _commands_key(params: Params) -> tuple[str, str]:
    scope = params.json("scope", "can't parse BotCommandScope JSON object") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.text("language_code") or ""


@method("setMyCommands")
async def set_my_commands(state: EmulatorState, params: Params) -> bool:
    commands = params.json("commands", "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > _MAX_COMMANDS:
        raise bad_request("too many commands specified")
    kept = []
    for entry in commands:
        if not isinstance(entry, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(entry.get("command", "")).removeprefix("/")
        description = str(entry.get("description", "")).strip()
        if not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        kept.append({"command": command, "description": description})
    state.commands[_commands_key(params)] = kept
    return True


@method("getMyCommands")
async def get_my_commands(state: EmulatorState, params: Params) -> list[dict[str, str]]:
    return state.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(state: EmulatorState, params: Params) -> bool:
    state.commands.pop(_commands_key(params), None)
    return True


@method("close")
async def close(state: EmulatorState, params: Params) -> bool:
    return True


@method("logOut")
async def log_out(state: EmulatorState, params: Params) -> bool:
    return True


# Profile settings a bot may set at start; the emulator accepts and forgets them, so that a
# bot that sets them starts the same way here as on Telegram.
for _name in (
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
):

    @method(_name)
    async def _accepted(state: EmulatorState, params: Params) -> bool:
        return True
