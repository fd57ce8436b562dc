"""The HTTP server's health check and the run page that local runs link to."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.http.app import bound_port, build_app, start_site
from bot.runs import Origin, RunState
from bot.runtime import Charon


@pytest.fixture
async def base_url(charon: Charon) -> AsyncIterator[str]:
    runner = await start_site(build_app(charon), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{bound_port(runner)}"
    await runner.cleanup()


async def test_healthz(base_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "backends": ["local"]}


async def test_run_page_shows_state_steps_params_outputs_and_log(charon: Charon, base_url: str) -> None:
    reply = await charon.service.handle_text("run smoke_pipeline a=20 b=22", Origin("chat", user_id="ann"))
    assert reply.run is not None
    await charon.local.wait(reply.run.id)
    await charon.poller.poll_once()
    run = await charon.store.get(reply.run.id)
    assert run is not None and run.state is RunState.SUCCEEDED
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/runs/{run.id}") as response:
        assert response.status == 200
        page = await response.text()
    assert '<span class="state succeeded">succeeded</span>' in page
    for fragment in ("smoke_pipeline", "<th>a</th><td><code>20</code>", "add-2", "report", "summary",
                     "requested by ann", "Log (last lines)"):  # fmt: skip
        assert fragment in page, fragment
    assert "\x1b[" not in page


async def test_unknown_run_is_a_404_page(base_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/runs/nope") as response:
        assert response.status == 404
        assert "There is no run nope." in await response.text()


