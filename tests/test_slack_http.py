"""HTTP events mode: with a signing secret and no app token, Slack reaches ``POST /slack/events``."""

import json
import time
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.settings import Settings
from tests.slack_emulator_payloads import event_callback
from tests.test_slack_harness import (  # noqa: F401  (the autouse fixture is used by name)
    ALICE,
    SIGNING_SECRET,
    World,
    _no_proxy,
    charon_serving,
    first_text,
    link,
)


async def post(world: World, body: str, content_type: str, secret: str = SIGNING_SECRET) -> aiohttp.ClientResponse:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{world.settings.base_url}/slack/events", data=body.encode(), headers=headers)
        await response.read()
        return response


async def test_signed_requests_are_served_and_unsigned_ones_refused(settings: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with charon_serving(settings, monkeypatch, http_events=True) as world:
        forged = urlencode(world.emu.slash_command_payload("run smoke_pipeline"))
        response = await post(world, forged, "application/x-www-form-urlencoded", secret="not-the-secret")
        assert response.status == 401

        command = urlencode(world.emu.slash_command_payload("run smoke_pipeline a=5", user_id=ALICE))
        response = await post(world, command, "application/x-www-form-urlencoded")
        assert response.status == 200
        [run] = await world.wait_runs()
        assert run.params["a"] == 5  # the forged request started nothing
        status = await world.emu.wait_until(lambda: world.emu.messages_in(world.channel, bot_only=True),
                                            what="the status message")  # fmt: skip
        assert first_text(status[0]) == f"Running {link(run.run_url, 'smoke_pipeline')}"

        mention = world.emu.app_mention_event("<@UBOT> help")
        event = json.dumps(event_callback(mention, token=world.emu.verification_token, team_id=world.emu.team_id,
                                          api_app_id=world.emu.app_id, bot_user_id=world.emu.bot_user_id))  # fmt: skip
        response = await post(world, event, "application/json")
        assert response.status == 200
        help_reply = await world.reply(mention["ts"])
        assert help_reply.text.startswith("*Charon* runs Kubeflow pipelines.")

        await world.finished(status[0])
        await world.outcome(status[0].ts, "Run completed successfully.")
        async with aiohttp.ClientSession() as http, http.get(f"{world.settings.base_url}/metrics") as scraped:
            counts = [line for line in (await scraped.text()).splitlines()
                      if line.startswith("charon_slack_ack_seconds_count")]  # fmt: skip
        assert counts and float(counts[0].split()[-1]) >= 2  # each acknowledged request is timed
