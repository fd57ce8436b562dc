"""Builders of Slack payloads in the shape Slack records them (used by ``tests/slack_emulator.py``).

Every builder is a pure function: the caller passes team/app/user ids, trigger ids and response URLs.
``SlackEmulator`` wraps them with its own ids and issues real (emulator-known) trigger ids and
response URLs, so most tests should call the emulator's methods rather than these directly.

Shapes follow Slack's Events API / interactivity payloads as recorded in slack_sdk / bolt-python test
fixtures and Slack's docs (see /work/shared/notes/slack.md §1.4, §4, §6).
"""

from __future__ import annotations

import re
import secrets
import string
import time
import uuid
from typing import Any

JsonDict = dict[str, Any]

_MENTION_RE = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")


def random_id(prefix: str, length: int = 10) -> str:
    """An id like Slack's: a prefix followed by upper-case letters and digits."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def random_block_id() -> str:
    alphabet = string.ascii_letters + string.digits + "+=/"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def ts_now() -> str:
    now = time.time()
    return f"{int(now)}.{int((now % 1) * 1_000_000):06d}"


def channel_type_for(channel: str) -> str:
    """Slack's ``channel_type`` for a conversation id (C → channel, G → group, D → im)."""
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


# ---------------------------------------------------------------------------------------------------------
# rich text (what the Slack client attaches to every human message as ``blocks``)
# ---------------------------------------------------------------------------------------------------------


def rich_text_blocks(text: str) -> list[JsonDict]:
    """Converts mrkdwn-ish text into the ``rich_text`` block the Slack client sends with user messages.

    ``<@U123>`` becomes a ``user`` element, ``<#C123|name>`` a ``channel`` element and ``<!here>`` a
    ``broadcast`` element; everything else is ``text``.
    """
    elements: list[JsonDict] = []
    pos = 0
    for m in _MENTION_RE.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos : m.start()]})
        sigil, target = m.group(1), m.group(2)
        if sigil == "@":
            elements.append({"type": "user", "user_id": target})
        elif sigil == "#":
            elements.append({"type": "channel", "channel_id": target})
        else:
            elements.append({"type": "broadcast", "range": target})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    return [
        {
            "type": "rich_text",
            "block_id": random_block_id(),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


# ---------------------------------------------------------------------------------------------------------
# Events API
# ---------------------------------------------------------------------------------------------------------


def message_event(
    text: str,
    *,
    user: str,
    channel: str,
    team: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    parent_user_id: str | None = None,
) -> JsonDict:
    """A ``message`` event (message.channels / message.im …) as Slack delivers a human's post."""
    event = _human_post("message", text, user, channel, team, ts, thread_ts)
    event["channel_type"] = channel_type or channel_type_for(channel)
    if thread_ts is not None and parent_user_id is not None:
        event["parent_user_id"] = parent_user_id
    if subtype is not None:
        event["subtype"] = subtype
    if bot_id is not None:
        # bot posts carry bot_id (and no client_msg_id)
        event["bot_id"] = bot_id
        event.pop("client_msg_id", None)
    return event


def app_mention_event(
    text: str,
    *,
    user: str,
    channel: str,
    team: str,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> JsonDict:
    """An ``app_mention`` event; ``text`` should contain ``<@BOTID>`` like the real one."""
    return _human_post("app_mention", text, user, channel, team, ts, thread_ts)


def _human_post(
    kind: str, text: str, user: str, channel: str, team: str, ts: str | None, thread_ts: str | None
) -> JsonDict:
    """The fields every event about a person's post carries, in Slack's order."""
    ts = ts or ts_now()
    event: JsonDict = {
        "user": user,
        "type": kind,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": team,
        "blocks": rich_text_blocks(text),
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def reaction_added_event(
    reaction: str, *, user: str, channel: str, item_ts: str, item_user: str | None = None
) -> JsonDict:
    ts = ts_now()
    event: JsonDict = {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": item_ts},
        "event_ts": ts,
    }
    if item_user is not None:
        event["item_user"] = item_user
    return event


def event_callback(
    event: JsonDict,
    *,
    token: str,
    team_id: str,
    api_app_id: str,
    bot_user_id: str,
    event_id: str | None = None,
    event_time: int | None = None,
) -> JsonDict:
    """The ``event_callback`` wrapper (= the ``payload`` of an ``events_api`` envelope)."""
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or random_id("Ev", 10),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(48),
    }


# ---------------------------------------------------------------------------------------------------------
# slash commands
# ---------------------------------------------------------------------------------------------------------


def slash_command(
    text: str,
    *,
    command: str,
    token: str,
    team_id: str,
    team_domain: str,
    api_app_id: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> JsonDict:
    """A slash command payload: flat, all values strings (as Slack form-encodes them)."""
    return {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# ---------------------------------------------------------------------------------------------------------
# interactivity
# ---------------------------------------------------------------------------------------------------------


def user_obj(user_id: str, name: str, team_id: str) -> JsonDict:
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def button_action(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    text: str = "Button",
    style: str | None = None,
) -> JsonDict:
    """One entry of ``block_actions.actions`` for a button click."""
    action: JsonDict = {
        "action_id": action_id,
        "block_id": block_id or random_block_id(),
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "type": "button",
        "action_ts": ts_now(),
    }
    if value is not None:
        action["value"] = value
    if style is not None:
        action["style"] = style
    return action


def static_select_action(
    action_id: str, value: str, *, block_id: str | None = None, text: str | None = None
) -> JsonDict:
    """One entry of ``block_actions.actions`` for a static_select choice."""
    return {
        "type": "static_select",
        "action_id": action_id,
        "block_id": block_id or random_block_id(),
        "selected_option": option(value, text),
        "placeholder": {"type": "plain_text", "text": "Select an item", "emoji": True},
        "action_ts": ts_now(),
    }


def option(value: str, text: str | None = None) -> JsonDict:
    return {
        "text": {"type": "plain_text", "text": text if text is not None else value, "emoji": True},
        "value": value,
    }


def block_actions(
    actions: list[JsonDict],
    *,
    token: str,
    team_id: str,
    team_domain: str,
    api_app_id: str,
    user: JsonDict,
    trigger_id: str,
    channel: JsonDict | None = None,
    message: JsonDict | None = None,
    response_url: str | None = None,
    view: JsonDict | None = None,
    state_values: JsonDict | None = None,
) -> JsonDict:
    """A ``block_actions`` payload, from a message (``channel``+``message``) or from a modal (``view``)."""
    payload: JsonDict = {
        "type": "block_actions",
        "user": user,
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = view
    else:
        assert channel is not None and message is not None, "block_actions needs a view or a channel+message"
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel["id"],
            "is_ephemeral": False,
        }
        payload["channel"] = channel
        payload["message"] = message
        payload["state"] = {"values": state_values or {}}
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_submission(
    view: JsonDict,
    *,
    token: str,
    team_id: str,
    team_domain: str,
    api_app_id: str,
    user: JsonDict,
    trigger_id: str,
    response_urls: list[JsonDict] | None = None,
) -> JsonDict:
    """A ``view_submission`` payload; ``view`` must already carry ``state.values``."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": user,
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    view: JsonDict,
    *,
    token: str,
    team_id: str,
    team_domain: str,
    api_app_id: str,
    user: JsonDict,
    is_cleared: bool,
) -> JsonDict:
    return {
        "type": "view_closed",
        "team": {"id": team_id, "domain": team_domain},
        "user": user,
        "api_app_id": api_app_id,
        "token": token,
        "view": view,
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_action(
    callback_id: str,
    message: JsonDict,
    *,
    token: str,
    team_id: str,
    team_domain: str,
    user: JsonDict,
    channel: JsonDict,
    trigger_id: str,
    response_url: str,
) -> JsonDict:
    """A message shortcut (``message_action``) payload."""
    return {
        "type": "message_action",
        "token": token,
        "action_ts": ts_now(),
        "team": {"id": team_id, "domain": team_domain},
        "user": user,
        "channel": channel,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def global_shortcut(
    callback_id: str, *, token: str, team_id: str, team_domain: str, user: JsonDict, trigger_id: str
) -> JsonDict:
    """A global ``shortcut`` payload (no channel, no response_url)."""
    return {
        "type": "shortcut",
        "token": token,
        "action_ts": ts_now(),
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user["id"], "username": user["username"], "team_id": user["team_id"]},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


# ---------------------------------------------------------------------------------------------------------
# view.state.values
# ---------------------------------------------------------------------------------------------------------


def _find_option(element: JsonDict, value: str) -> JsonDict:
    groups = element.get("option_groups") or []
    candidates = list(element.get("options") or []) + [o for g in groups for o in g.get("options", [])]
    for o in candidates:
        if o.get("value") == value:
            return dict(o)
    return option(value)


def state_value(element: JsonDict, value: Any) -> JsonDict:
    """The ``state.values[block_id][action_id]`` entry a user would produce by entering ``value``.

    ``value`` is a plain Python value (str, list of str, None); a dict is taken as the complete entry.
    """
    if isinstance(value, dict):
        return value
    etype = str(element.get("type", "plain_text_input"))
    if etype in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        return {"type": etype, "value": None if value is None else str(value)}
    if etype in ("static_select", "radio_buttons", "external_select"):
        return {
            "type": etype,
            "selected_option": None if value is None else _find_option(element, str(value)),
        }
    if etype in ("multi_static_select", "checkboxes", "multi_external_select"):
        values = [] if value is None else ([value] if isinstance(value, str) else list(value))
        return {"type": etype, "selected_options": [_find_option(element, str(v)) for v in values]}
    if etype == "datepicker":
        return {"type": etype, "selected_date": value}
    if etype == "timepicker":
        return {"type": etype, "selected_time": value}
    if etype == "users_select":
        return {"type": etype, "selected_user": value}
    if etype == "multi_users_select":
        return {"type": etype, "selected_users": [value] if isinstance(value, str) else list(value or [])}
    if etype == "conversations_select":
        return {"type": etype, "selected_conversation": value}
    if etype == "channels_select":
        return {"type": etype, "selected_channel": value}
    return {"type": etype, "value": value}


def _initial_value(element: JsonDict) -> Any:
    etype = element.get("type")
    if "initial_value" in element:
        return element["initial_value"]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    if "initial_options" in element:
        return [o["value"] for o in element["initial_options"]]
    for key in ("initial_date", "initial_time", "initial_user", "initial_conversation", "initial_channel"):
        if key in element:
            return element[key]
    if etype in ("checkboxes", "multi_static_select", "multi_users_select"):
        return []
    return None


def build_state_values(blocks: list[JsonDict], values: dict[str, dict[str, Any]] | None) -> JsonDict:
    """``view.state.values`` for a submission: every input block's element, with ``values`` applied.

    ``values`` is ``{block_id: {action_id: value}}``; values not given fall back to the element's
    initial value (or empty), as Slack includes every input block in the state.
    """
    values = values or {}
    out: JsonDict = {}
    for block in blocks:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = block.get("block_id"), element.get("action_id")
        if not block_id or not action_id:
            continue
        given = values.get(block_id, {})
        raw = given[action_id] if action_id in given else _initial_value(element)
        out[block_id] = {action_id: state_value(element, raw)}
    for block_id, entries in values.items():  # values for blocks the view does not declare: pass through
        for action_id, raw in entries.items():
            if action_id not in out.get(block_id, {}):
                out.setdefault(block_id, {})[action_id] = state_value({}, raw)
    return out
