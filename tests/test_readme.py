"""The README's curl blocks work as a newcomer runs them: against a running platform (web and
worker), wherever it serves, and a second time in a row."""

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from arq import cron

from app.demo.service import demo_service
from app.demo.tasks import reopen_demo_pool
from app.kit.migrate import PROJECT_ROOT
from app.kit.resources import Resources, open_resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.conftest import LiveServer, running_worker

README = (PROJECT_ROOT / "README.md").read_text()


def readme_block(heading: str, index: int = 0) -> str:
    """The ``index``-th shell block after ``heading``."""
    start = README.index(f"{heading}\n")
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", README[start:], re.DOTALL)
    return blocks[index]


@dataclass(frozen=True)
class Platform:
    url: str
    settings: Settings


@pytest.fixture
async def platform(settings: Settings, live_server: LiveServer) -> AsyncIterator[Platform]:
    """What `make run` starts: the seeded demo, the web process and a worker running jobs and
    the demo's cron (as in development)."""
    development = settings.model_copy(update={"env": "development"})
    resources: Resources = await open_resources(development)
    async with unit_of_work(resources) as session:
        await demo_service.seed(session, resources)
    demo_cron = cron(reopen_demo_pool, name="cron:demo.reopen_pool", second=set(range(60)))
    try:
        async with running_worker(resources, [demo_cron]):
            yield Platform(live_server.url, settings)
    finally:
        await resources.close()


async def run_block(platform: Platform, script: str) -> list[str]:
    """Run a block with bash, stopping at the first failing command; its output lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMPOOLS_")}
    env |= {
        "STREAMPOOLS_PUBLIC_URL": platform.url,
        # `make ledger-check` in the blocks checks this test's database.
        "DATABASE_URL": platform.settings.database_url,
        "REDIS_URL": platform.settings.redis_url,
    }
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-eo",
        "pipefail",
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=PROJECT_ROOT,
        env=env,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    lines = out.decode().splitlines()
    assert process.returncode == 0, "\n".join(lines)
    return lines


async def test_trying_it_with_curl_works_twice(platform: Platform) -> None:
    block = readme_block("## Try it with curl")
    first, second = await run_block(platform, block), await run_block(platform, block)
    assert json.loads(first[0])["user"]["email"] == "ada@example.com"
    assert json.loads(second[0])["error"]["code"] == "email_taken"
    for lines in (first, second):
        assert json.loads(lines[1])["email"] == "ada@example.com"
        assert json.loads(lines[2])["status"] == "ok"


async def test_pools_end_to_end_and_the_demo_round_work_twice(platform: Platform) -> None:
    # The streamer's demo round uses the helpers the pools block defines, as the README says.
    script = readme_block("## Pools, end to end, with curl") + readme_block(
        "### Watch two viewers bet and chat", 1
    )
    resolved: list[int] = []
    for registered in ("201", "409"):
        lines = await run_block(platform, script)
        assert f"register second@example.com: {registered}" in lines
        assert not [line for line in lines if '"error"' in line]
        assert "1500" in lines  # the winner's balance in the new channel, settled by the worker
        assert "ledger check: all invariants hold" in lines
        demo_pool = json.loads(lines[-1])
        assert demo_pool["status"] == "resolved"
        resolved.append(demo_pool["id"])
        await _demo_pool_reopened(platform)
    assert resolved[0] != resolved[1]


async def _demo_pool_reopened(platform: Platform) -> None:
    """The worker's cron opens the demo's next pool (within seconds, as for a person)."""
    script = (
        'curl -s "$STREAMPOOLS_PUBLIC_URL/api/v1/channels/by-slug/demo"'
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])'"
    )
    channel = (await run_block(platform, script))[0]
    for _ in range(100):
        pools = await run_block(
            platform,
            f'curl -s "$STREAMPOOLS_PUBLIC_URL/api/v1/channels/{channel}/pools?status=open"',
        )
        if json.loads(pools[0])["pools"]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no new demo pool opened")
