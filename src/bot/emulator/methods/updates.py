"""getUpdates, setWebhook, deleteWebhook and getWebhookInfo."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from trainingbot.emulator.errors import CONFLICT_WEBHOOK_ACTIVE, bad_request, conflict
from trainingbot.emulator.methods.registry import Described, method
from trainingbot.emulator.params import Params
from trainingbot.emulator.state import EmulatorState
from trainingbot.emulator.updates import DEFAULT_UPDATE_TYPES, check_limit
from trainingbot.emulator.webhook import WebhookDelivery, WebhookSettings

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@method("getUpdates")
async def get_updates(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    if state.webhook is not None:
        raise conflict(CONFLICT_WEBHOOK_ACTIVE)
    offset = params.integer("offset")
    limit = check_limit(params.integer("limit"))
    timeout = max(0.0, params.number("timeout", 0.0) or 0.0)
    state.updates.set_allowed(
        params.json("allowed_updates", "can't parse allowed_updates JSON array")
    )
    return await state.updates.get_updates(offset, limit, timeout)


def _webhook_settings(params: Params, url: str) -> WebhookSettings:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise bad_request("bad webhook: can't parse URL") from None
    # Telegram insists on HTTPS on ports 443, 80, 88 or 8443; a local emulator delivers to
    # plain HTTP on any port, which is what a bot under test listens on.
    if parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: HTTPS url must be provided for webhook")
    if not parts.hostname:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
    secret = params.text("secret_token") or None
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    # Telegram clamps max_connections to 1..100 and defaults to 40.
    connections = min(max(params.integer("max_connections", 40) or 40, 1), 100)
    return WebhookSettings(url, secret, connections, params.text("ip_address"))


@method("setWebhook")
async def set_webhook(state: EmulatorState, params: Params) -> Described:
    url = (params.text("url") or "").strip()
    if not url:
        return await delete_webhook(state, params)
    settings = _webhook_settings(params, url)
    allowed = params.json("allowed_updates", "can't parse allowed_updates JSON array")
    drop = params.flag("drop_pending_updates")
    current = state.webhook
    if current is not None and current.settings == settings and allowed is None and not drop:
        return Described(True, "Webhook is already set")
    await state.stop_webhook()
    state.updates.set_allowed(allowed)
    if drop:
        state.updates.drop_pending()
    # A getUpdates still waiting learns that a webhook took over.
    state.updates.terminate_poller(CONFLICT_WEBHOOK_ACTIVE)
    assert state.execute_reply is not None
    delivery = WebhookDelivery(settings, state.updates, state.execute_reply, state.retry)
    state.webhook = delivery
    state.updates.on_publish = delivery.schedule
    delivery.start(list(state.updates.pending.values()))
    return Described(True, "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(state: EmulatorState, params: Params) -> Described:
    had_webhook = state.webhook is not None
    await state.stop_webhook()
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    return Described(True, "Webhook was deleted" if had_webhook else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(state: EmulatorState, params: Params) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": state.pending_update_count,
    }
    delivery = state.webhook
    if delivery is None:
        return info
    info["url"] = delivery.settings.url
    info["max_connections"] = delivery.settings.max_connections
    info["ip_address"] = delivery.settings.ip_address or "127.0.0.1"
    if delivery.last_error_date is not None:
        info["last_error_date"] = delivery.last_error_date
        info["last_error_message"] = delivery.last_error_message
    if state.updates.allowed != DEFAULT_UPDATE_TYPES:
        info["allowed_updates"] = sorted(state.updates.allowed)
    return info
