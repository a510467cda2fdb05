"""sendMessage, editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage,
sendDocument and sendChatAction."""

from __future__ import annotations

import mimetypes
from typing import Any

from trainingbot.emulator.errors import MESSAGE_NOT_MODIFIED, bad_request
from trainingbot.emulator.markup import validate_reply_markup
from trainingbot.emulator.methods.registry import method
from trainingbot.emulator.models import EmulatedDocument, EmulatedMessage
from trainingbot.emulator.params import Params, UploadedFile
from trainingbot.emulator.state import EmulatorState, FormattedText

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def reply_markup(state: EmulatorState, params: Params) -> dict[str, Any] | None:
    raw = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
    markup = validate_reply_markup(raw, state.limits)
    if markup is not None and "inline_keyboard" in markup and not markup["inline_keyboard"]:
        return None  # an empty inline keyboard is no keyboard
    return markup


def message_text(state: EmulatorState, params: Params) -> FormattedText:
    formatted = state.format(
        params,
        "text",
        "parse_mode",
        "entities",
        required=True,
        empty_error="message text is empty",
        max_length=state.limits.max_message_length,
        too_long_error="message is too long",
    )
    assert formatted is not None
    return formatted


def caption_text(state: EmulatorState, params: Params) -> FormattedText | None:
    return state.format(
        params,
        "caption",
        "parse_mode",
        "caption_entities",
        required=False,
        empty_error="",
        max_length=state.limits.max_caption_length,
        too_long_error="message caption is too long",
    )


def _inline_only(params: Params) -> None:
    if params.text("inline_message_id") and not params.text("chat_id"):
        # Inline mode is not part of the emulated bot.
        raise bad_request("MESSAGE_ID_INVALID")


@method("sendMessage")
async def send_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.chat_for(params)
    formatted = message_text(state, params)
    markup = reply_markup(state, params)
    preview = params.json("link_preview_options", "can't parse link preview options JSON object")
    state.admit_send(chat)
    message = EmulatedMessage(
        chat_id=chat.id,
        message_id=chat.next_message_id(),
        date=state.now(),
        method="sendMessage",
        text=formatted.text,
        html=formatted.source,
        parse_mode=formatted.parse_mode,
        entities=formatted.entities,
        reply_markup=markup,
        link_preview_options=preview,
    )
    chat.add(message)
    return message.to_api(chat.chat, state.bot_user)


@method("editMessageText")
async def edit_message_text(state: EmulatorState, params: Params) -> dict[str, Any]:
    _inline_only(params)
    chat = state.chat_for(params, sending=False)
    message = state.message_for(chat, params, "message to edit not found")
    if message.kind != "text":
        raise bad_request("there is no text in the message to edit")
    formatted = message_text(state, params)
    # Telegram removes the inline keyboard of an edited message unless it is sent again.
    markup = reply_markup(state, params)
    if (
        formatted.text == message.text
        and formatted.entities == message.entities
        and markup == message.reply_markup
    ):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    message.text = formatted.text
    message.html = formatted.source
    message.parse_mode = formatted.parse_mode
    message.entities = formatted.entities
    message.reply_markup = markup
    preview = params.json("link_preview_options", "can't parse link preview options JSON object")
    if preview is not None:
        message.link_preview_options = preview
    chat.edited(message)
    return message.to_api(chat.chat, state.bot_user)


@method("editMessageCaption")
async def edit_message_caption(state: EmulatorState, params: Params) -> dict[str, Any]:
    _inline_only(params)
    chat = state.chat_for(params, sending=False)
    message = state.message_for(chat, params, "message to edit not found")
    if message.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption = caption_text(state, params)
    markup = reply_markup(state, params)
    text = caption.text if caption else ""
    entities = caption.entities if caption else []
    if text == message.text and entities == message.entities and markup == message.reply_markup:
        raise bad_request(MESSAGE_NOT_MODIFIED)
    message.text, message.entities, message.reply_markup = text, entities, markup
    message.html = caption.source if caption else ""
    message.document.caption = text or None
    chat.edited(message)
    return message.to_api(chat.chat, state.bot_user)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(state: EmulatorState, params: Params) -> dict[str, Any]:
    _inline_only(params)
    chat = state.chat_for(params, sending=False)
    message = state.message_for(chat, params, "message to edit not found")
    markup = reply_markup(state, params)
    if markup == message.reply_markup:
        raise bad_request(MESSAGE_NOT_MODIFIED)
    message.reply_markup = markup
    chat.edited(message)
    return message.to_api(chat.chat, state.bot_user)


@method("deleteMessage")
async def delete_message(state: EmulatorState, params: Params) -> bool:
    chat = state.chat_for(params, sending=False)
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    if not chat.delete(message_id):
        raise bad_request("message to delete not found")
    return True


@method("sendDocument")
async def send_document(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.chat_for(params)
    upload = params.file("document")
    if upload is None:
        raise bad_request("there is no document in the request")
    if isinstance(upload, str):
        # A file_id of a document sent before; the emulator cannot fetch URLs.
        known = state.documents.get(upload)
        if known is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        upload = UploadedFile(known.filename, known.data, known.mime_type)
    if not upload.data:
        raise bad_request("file must be non-empty")
    caption = caption_text(state, params)
    markup = reply_markup(state, params)
    state.admit_send(chat)
    number = state.new_id()
    document = EmulatedDocument(
        filename=upload.filename,
        data=upload.data,
        # Telegram names the type from the file name, not from what the client declared.
        mime_type=mimetypes.guess_type(upload.filename)[0] or "application/octet-stream",
        file_id=f"BQACAgIAAxkDAAI{number:08d}",
        file_unique_id=f"AgAD{number:08d}",
        caption=caption.text if caption else None,
    )
    state.remember_document(document)
    message = EmulatedMessage(
        chat_id=chat.id,
        message_id=chat.next_message_id(),
        date=state.now(),
        method="sendDocument",
        text=caption.text if caption else "",
        html=caption.source if caption else "",
        parse_mode=caption.parse_mode if caption else None,
        entities=caption.entities if caption else [],
        reply_markup=markup,
        document=document,
    )
    chat.add(message)
    return message.to_api(chat.chat, state.bot_user)


@method("sendChatAction")
async def send_chat_action(state: EmulatorState, params: Params) -> bool:
    chat = state.chat_for(params)
    action = params.text("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.chat_actions.append(action)
    return True
