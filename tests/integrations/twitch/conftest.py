"""A running fake Twitch and the platform's clients pointed at it."""

from collections.abc import AsyncIterator

import pytest

from integrations.twitch.helix import HelixClient
from integrations.twitch.oauth import TwitchOAuth
from tests.fakes.twitch import FakeTwitch


class Sleeps:
    """Stands in for asyncio.sleep in the Helix client: records the waits, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def twitch_oauth(fake_twitch: FakeTwitch) -> AsyncIterator[TwitchOAuth]:
    client = TwitchOAuth(
        fake_twitch.client_id, fake_twitch.client_secret, base_url=fake_twitch.id_url
    )
    yield client
    await client.aclose()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def helix(fake_twitch: FakeTwitch, sleeps: Sleeps) -> AsyncIterator[HelixClient]:
    client = HelixClient(fake_twitch.client_id, base_url=fake_twitch.helix_url, sleep=sleeps)
    yield client
    await client.aclose()
