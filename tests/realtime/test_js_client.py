"""The official JavaScript client (socket.io-client from npm) runs the README's viewer example
against a real server: two copies side by side join, bet, chat and see each other."""

import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.kit.migrate import PROJECT_ROOT
from tests.conftest import LiveServer
from tests.factories import DEFAULT_PASSWORD, unique_email
from tests.worlds import World, open_pool

EXAMPLE = PROJECT_ROOT / "tests" / "js" / "viewer.mjs"


async def _viewer(client: httpx.AsyncClient, world: World, name: str) -> str:
    email = unique_email(name)
    body = {"email": email, "password": DEFAULT_PASSWORD, "display_name": name}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    joined = await client.post(f"/api/v1/channels/{world.channel_id}/join", headers=token)
    assert joined.is_success
    return email


async def _run_example(
    url: str, email: str, slug: str, amount: int, seconds: float, url_from_port: bool = False
) -> list[Any]:
    """Run the example; with ``url_from_port`` it finds the server as a newcomer's would: from
    STREAMPOOLS_PORT, the setting `make run` reads, rather than from ``--url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPOOLS_")}
    if url_from_port:
        env["STREAMPOOLS_PORT"] = str(urlsplit(url).port)
        where = []
    else:
        where = ["--url", url]
    process = await asyncio.create_subprocess_exec(
        "node",
        str(EXAMPLE),
        email,
        DEFAULT_PASSWORD,
        *where,
        "--channel",
        slug,
        "--bet",
        str(amount),
        "--say",
        f"hi from {email}",
        "--for",
        str(seconds),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(PROJECT_ROOT),
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), seconds + 20)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


async def test_two_javascript_viewers_bet_chat_and_watch_the_totals_move(
    client: httpx.AsyncClient, world: World, live_server: LiveServer
) -> None:
    pool = await open_pool(client, world)
    slug = (await client.get(f"/api/v1/channels/{world.channel_id}")).json()["slug"]
    first, second = await _viewer(client, world, "Jay"), await _viewer(client, world, "Kay")

    runs = await asyncio.gather(
        _run_example(live_server.url, first, slug, 40, 4),
        _run_example(live_server.url, second, slug, 60, 4, url_from_port=True),
    )
    for lines, email, amount in zip(runs, (first, second), (40, 60), strict=True):
        by_event: dict[str, list[Any]] = {}
        for line in lines:
            by_event.setdefault(line["event"], []).append(line["data"])
        joined = by_event["channel:join"][0]
        assert joined["ok"] is True
        assert joined["balances"][0]["balance"] == 1_000
        bet = by_event["bet:place"][0]
        assert bet["ok"] is True, bet
        assert bet["bet"]["pool_id"] == pool["id"]
        assert bet["bet"]["balance"] == 1_000 - amount
        assert {"currency": world.currency, "balance": 1_000 - amount} in by_event["wallet:updated"]
        # Both bets (100 in all) and both hellos reach both viewers (live, or in the snapshot
        # for a viewer who joined after the other had spoken).
        assert any(update["total"] == 100 for update in by_event["pool:updated"])
        said = {m["text"] for m in by_event["chat:message"] + joined["chat"]}
        assert said == {f"hi from {first}", f"hi from {second}"}, email
