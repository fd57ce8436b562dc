"""``PolicyFile``: who may run which pipeline where, who the admins are, which pipelines need a Launch click.

The file (``CHARON_POLICY_FILE``, YAML) names Slack ids: users ``U…``/``W…``, user groups ``S…``,
channels ``C…``/``G…`` (``dm`` stands for any direct message)::

    admins:                          # may run everything anywhere and press any run's buttons
      users: [U0ADMIN]
      groups: [S0ONCALL]
    pipelines:
      "*":                           # pipelines not named below (without "*": admins only)
        channels: [C0DATA, dm]
      smoke_pipeline:
        users: [U0ALICE]             # neither users nor groups: anyone
        groups: [S0DATA]
        channels: [C0CHARON]         # omitted: any channel
      invalidate_llm_situations_in_db:
        users: [U0ADMIN]
        confirm: true                # a Launch button must be pressed before it runs

The rules apply to Slack; the CLI, the HTTP API (bearer tokens) and schedules are not checked.
Group members are not in the file: the Slack adapter resolves them (``set_group_members``).
"""

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.render import render_text
from bot.runs import Origin, Run

DM = "dm"
ANYONE = "*"


class _Audience(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[str] | None = None
    groups: list[str] | None = None


class _Rule(_Audience):
    channels: list[str] | None = None
    confirm: bool = False


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admins: _Audience = Field(default_factory=_Audience)
    pipelines: dict[str, _Rule] = Field(default_factory=dict)


class PolicyFileError(Exception):
    """The policy file cannot be used; ``str()`` names the file and what is wrong."""


class PolicyFile:
    def __init__(self, model: _PolicyModel) -> None:
        self._model = model
        self._members: dict[str, frozenset[str]] = {}

    @classmethod
    def load(cls, path: Path) -> "PolicyFile":
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PolicyFileError(f"The policy file {path} cannot be read: {exc}") from None
        try:
            return cls(_PolicyModel.model_validate(data or {}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyFileError(f"The policy file {path} is not valid: {problems}") from None

    @property
    def groups(self) -> set[str]:
        """Every user group the file names (their members are looked up in Slack)."""
        rules: list[_Audience] = [self._model.admins, *self._model.pipelines.values()]
        return {group for rule in rules for group in rule.groups or []}

    def set_group_members(self, group: str, users: list[str]) -> None:
        self._members[group] = frozenset(users)

    def is_admin(self, user_id: str | None) -> bool:
        admins = self._model.admins
        if user_id is None or (admins.users is None and admins.groups is None):
            return False  # no admins named
        return self._in(user_id, admins)

    def refuse(self, origin: Origin, action: str, pipeline: str | None = None, run: Run | None = None) -> str | None:
        """``run``/``schedule``: the pipeline's rule. ``cancel``/``retry``/``rerun`` of a ``run``: its requester
        or an admin. ``launch_for_other`` (a Launch button someone else asked for): admins only."""
        if origin.surface != "slack" or self.is_admin(origin.user_id):
            return None
        if action in ("run", "schedule") and pipeline is not None:
            return self._pipeline_refusal(origin, pipeline)
        if action == "launch_for_other":
            return self._refusal("launch_for_other", action=action)
        if run is not None and run.requested_by != origin.user_id:
            return self._refusal("owner", action=action, run=run)
        return None

    def needs_confirmation(self, origin: Origin, pipeline: str) -> bool:
        rule = self._rule(pipeline)
        return origin.surface == "slack" and rule is not None and rule.confirm

    def _rule(self, pipeline: str) -> _Rule | None:
        return self._model.pipelines.get(pipeline) or self._model.pipelines.get(ANYONE)

    def _pipeline_refusal(self, origin: Origin, pipeline: str) -> str | None:
        rule = self._rule(pipeline)
        if rule is None or not self._in(origin.user_id, rule):
            return self._refusal("pipeline", pipeline=pipeline)
        if rule.channels is not None and not _channel_allowed(origin.channel, rule.channels):
            return self._refusal("channel", pipeline=pipeline, channels=rule.channels)
        return None

    def _in(self, user_id: str | None, audience: _Audience) -> bool:
        if audience.users is None and audience.groups is None:
            return True
        users = audience.users or []
        if ANYONE in users or (user_id is not None and user_id in users):
            return True
        return any(user_id in self._members.get(group, frozenset()) for group in audience.groups or [])

    def _refusal(self, why: str, **context: Any) -> str:
        admins = self._model.admins
        return render_text("policy_refusal", why=why, admin_users=admins.users or [],
                           admin_groups=admins.groups or [], **context)  # fmt: skip


def _channel_allowed(channel: str | None, allowed: list[str]) -> bool:
    if ANYONE in allowed:
        return True
    if channel is None:
        return False
    return channel in allowed or (DM in allowed and channel.startswith("D"))
