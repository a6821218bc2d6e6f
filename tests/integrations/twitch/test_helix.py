"""The Helix client against the fake Twitch: subscriptions, chat, predictions, rate limits and
refused tokens."""

import time

import pytest

from integrations.twitch.errors import RateLimited, TokenRevoked, Unauthorized
from integrations.twitch.eventsub import InvalidSignature, parse, verify
from integrations.twitch.helix import (
    HelixClient,
    InvalidChatMessage,
    InvalidPrediction,
    SubscriptionCreated,
    webhook_transport,
    websocket_transport,
)
from tests.fakes.twitch import FakeTwitch, objects
from tests.integrations.twitch.conftest import Sleeps

BROADCASTER_ID, BOT_ID = "1337", "4242"
CALLBACK = "https://streampools.example/webhooks/twitch"
SECRET = "eventsub-secret-0123456789"
PREDICTION_SCOPES = ["channel:manage:predictions", "channel:read:predictions"]


@pytest.fixture(autouse=True)
def users(fake_twitch: FakeTwitch) -> None:
    fake_twitch.add_user(BROADCASTER_ID, "ada", "Ada")
    fake_twitch.add_user(BOT_ID, "streampools_bot")


async def test_get_user_is_the_tokens_owner(fake_twitch: FakeTwitch, helix: HelixClient) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID)

    user = await helix.get_user(token.access_token)

    assert (user.id, user.login, user.display_name) == (BROADCASTER_ID, "ada", "Ada")
    assert helix.last_rate_limit is not None
    assert helix.last_rate_limit.remaining == 799


async def test_a_webhook_subscription_is_created_once(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    app_token = fake_twitch.issue_token(None).access_token

    async def subscribe() -> SubscriptionCreated:
        return await helix.create_subscription(
            app_token,
            subscription_type="stream.online",
            condition={"broadcaster_user_id": BROADCASTER_ID},
            transport=webhook_transport(CALLBACK, SECRET),
        )

    created = await subscribe()
    again = await subscribe()

    assert created.subscription is not None and not created.already_exists
    assert created.subscription.status == "webhook_callback_verification_pending"
    assert created.subscription.transport == {"method": "webhook", "callback": CALLBACK}
    assert again.already_exists and again.subscription is None
    assert fake_twitch.subscription_secrets[created.subscription.id] == SECRET
    assert len(fake_twitch.subscriptions) == 1


async def test_a_websocket_subscription_uses_the_users_token(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    bot_token = fake_twitch.issue_token(BOT_ID, ["user:read:chat"]).access_token

    created = await helix.create_subscription(
        bot_token,
        subscription_type="channel.chat.message",
        condition={"broadcaster_user_id": BROADCASTER_ID, "user_id": BOT_ID},
        transport=websocket_transport("AQoQexAWVYKSTIu4ec_2VAxyuhAB"),
    )

    assert created.subscription is not None
    assert created.subscription.status == "enabled"
    assert created.subscription.transport["session_id"] == "AQoQexAWVYKSTIu4ec_2VAxyuhAB"


def test_a_webhook_secret_has_10_to_100_ascii_characters() -> None:
    for secret in ("short", "x" * 101, "sécret-sécret"):
        with pytest.raises(ValueError, match="10 to 100"):
            webhook_transport(CALLBACK, secret)


async def test_subscriptions_are_listed_across_pages_and_filtered(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    fake_twitch.page_size = 2
    app_token = fake_twitch.issue_token(None).access_token
    for broadcaster in ("1", "2", "3", "4", "5"):
        for subscription_type in ("stream.online", "stream.offline"):
            await helix.create_subscription(
                app_token,
                subscription_type=subscription_type,
                condition={"broadcaster_user_id": broadcaster},
                transport=webhook_transport(CALLBACK, SECRET),
            )

    everything = await helix.list_subscriptions(app_token)
    online = await helix.list_subscriptions(app_token, subscription_type="stream.online")
    of_three = await helix.list_subscriptions(app_token, user_id="3")

    assert len(everything) == 10
    assert len({subscription.id for subscription in everything}) == 10
    assert {subscription.type for subscription in online} == {"stream.online"}
    assert len(online) == 5
    assert {subscription.condition["broadcaster_user_id"] for subscription in of_three} == {"3"}
    with pytest.raises(ValueError, match="one of"):
        await helix.list_subscriptions(app_token, status="enabled", user_id="3")


async def test_a_subscription_is_deleted_once(fake_twitch: FakeTwitch, helix: HelixClient) -> None:
    app_token = fake_twitch.issue_token(None).access_token
    created = await helix.create_subscription(
        app_token,
        subscription_type="stream.offline",
        condition={"broadcaster_user_id": BROADCASTER_ID},
        transport=webhook_transport(CALLBACK, SECRET),
    )
    assert created.subscription is not None

    assert await helix.delete_subscription(app_token, created.subscription.id) is True
    assert await helix.delete_subscription(app_token, created.subscription.id) is False
    assert fake_twitch.subscriptions == {}


async def test_the_bot_sends_a_chat_message(fake_twitch: FakeTwitch, helix: HelixClient) -> None:
    bot_token = fake_twitch.issue_token(BOT_ID, ["user:write:chat", "user:bot"]).access_token

    sent = await helix.send_chat_message(
        bot_token,
        broadcaster_id=BROADCASTER_ID,
        sender_id=BOT_ID,
        message="Pool open: Will Ada win? !bet yes|no <amount>",
    )

    assert sent.is_sent and sent.drop_reason_code is None
    assert fake_twitch.chat_messages == [
        {
            "broadcaster_id": BROADCASTER_ID,
            "sender_id": BOT_ID,
            "message": "Pool open: Will Ada win? !bet yes|no <amount>",
            "message_id": sent.message_id,
        }
    ]


async def test_a_dropped_chat_message_says_why(fake_twitch: FakeTwitch, helix: HelixClient) -> None:
    bot_token = fake_twitch.issue_token(BOT_ID, ["user:write:chat"]).access_token
    fake_twitch.drop_next_chat_message("channel_settings", "Slow mode is on.")

    sent = await helix.send_chat_message(
        bot_token, broadcaster_id=BROADCASTER_ID, sender_id=BOT_ID, message="hi"
    )

    assert not sent.is_sent
    assert (sent.drop_reason_code, sent.drop_reason_message) == (
        "channel_settings",
        "Slow mode is on.",
    )
    assert fake_twitch.chat_messages == []


@pytest.mark.parametrize("message", ["", "   ", "x" * 501])
async def test_a_chat_message_out_of_bounds_is_not_sent(
    fake_twitch: FakeTwitch, helix: HelixClient, message: str
) -> None:
    with pytest.raises(InvalidChatMessage):
        await helix.send_chat_message(
            "token", broadcaster_id=BROADCASTER_ID, sender_id=BOT_ID, message=message
        )
    assert fake_twitch.requests == []


async def test_a_prediction_is_created_locked_and_resolved(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID, PREDICTION_SCOPES).access_token

    created = await helix.create_prediction(
        token,
        broadcaster_id=BROADCASTER_ID,
        title="Will Ada beat the boss?",
        outcomes=["Yes", "No"],
        window_seconds=120,
    )
    locked = await helix.end_prediction(
        token, broadcaster_id=BROADCASTER_ID, prediction_id=created.id, status="LOCKED"
    )
    winner = created.outcomes[1].id
    resolved = await helix.end_prediction(
        token,
        broadcaster_id=BROADCASTER_ID,
        prediction_id=created.id,
        status="RESOLVED",
        winning_outcome_id=winner,
    )
    [fetched] = await helix.get_predictions(
        token, broadcaster_id=BROADCASTER_ID, prediction_ids=[created.id]
    )

    assert created.status == "ACTIVE"
    assert [outcome.title for outcome in created.outcomes] == ["Yes", "No"]
    assert created.prediction_window == 120
    assert locked.status == "LOCKED" and locked.locked_at is not None
    assert resolved.status == "RESOLVED" and resolved.winning_outcome_id == winner
    assert fetched == resolved


@pytest.mark.parametrize(
    ("title", "outcomes", "window"),
    [
        ("", ["Yes", "No"], 120),
        ("x" * 46, ["Yes", "No"], 120),
        ("Title", ["Only one"], 120),
        ("Title", [str(n) for n in range(11)], 120),
        ("Title", ["Yes", "x" * 26], 120),
        ("Title", ["Yes", ""], 120),
        ("Title", ["Yes", "No"], 29),
        ("Title", ["Yes", "No"], 1801),
    ],
)
async def test_a_prediction_out_of_bounds_is_refused_before_calling_twitch(
    fake_twitch: FakeTwitch, helix: HelixClient, title: str, outcomes: list[str], window: int
) -> None:
    with pytest.raises(InvalidPrediction):
        await helix.create_prediction(
            "token",
            broadcaster_id=BROADCASTER_ID,
            title=title,
            outcomes=outcomes,
            window_seconds=window,
        )
    assert fake_twitch.requests == []


async def test_the_bounds_themselves_are_allowed(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID, PREDICTION_SCOPES).access_token
    prediction = await helix.create_prediction(
        token,
        broadcaster_id=BROADCASTER_ID,
        title="x" * 45,
        outcomes=["o" * 25] + [str(n) for n in range(9)],
        window_seconds=1800,
    )
    assert len(prediction.outcomes) == 10


async def test_resolving_needs_a_winner_and_only_resolving(helix: HelixClient) -> None:
    with pytest.raises(InvalidPrediction):
        await helix.end_prediction(
            "token", broadcaster_id=BROADCASTER_ID, prediction_id="p", status="RESOLVED"
        )
    with pytest.raises(InvalidPrediction):
        await helix.end_prediction(
            "token",
            broadcaster_id=BROADCASTER_ID,
            prediction_id="p",
            status="CANCELED",
            winning_outcome_id="o",
        )


# --- rate limits and refused tokens -------------------------------------------------------------


async def test_a_429_waits_until_the_reset_then_retries(
    fake_twitch: FakeTwitch, helix: HelixClient, sleeps: Sleeps
) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID).access_token
    fake_twitch.rate_limit_next(2, reset_in=3)

    user = await helix.get_user(token)

    assert user.id == BROADCASTER_ID
    assert len(sleeps.waits) == 2
    # Ratelimit-Reset is whole epoch seconds: the wait ends at the second after the reset.
    assert all(2 < wait <= 4 for wait in sleeps.waits)
    assert len(fake_twitch.requests) == 3


async def test_a_rate_limit_that_persists_is_an_error(
    fake_twitch: FakeTwitch, helix: HelixClient, sleeps: Sleeps
) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID).access_token
    fake_twitch.rate_limit_next(3, reset_in=1)

    with pytest.raises(RateLimited) as limited:
        await helix.get_user(token)

    assert len(sleeps.waits) == 2
    assert limited.value.reset_at > time.time()


async def test_a_reset_too_far_away_is_not_waited_for(
    fake_twitch: FakeTwitch, helix: HelixClient, sleeps: Sleeps
) -> None:
    token = fake_twitch.issue_token(BROADCASTER_ID).access_token
    fake_twitch.rate_limit_next(1, reset_in=3600)

    with pytest.raises(RateLimited):
        await helix.get_user(token)
    assert sleeps.waits == []


async def test_a_refused_user_token_is_refreshed_once_and_the_call_retried(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    stale = fake_twitch.issue_token(BOT_ID, ["user:write:chat"])
    fake_twitch.expire(stale.access_token)
    refreshes: list[str] = []

    async def refresh() -> str:
        fresh = fake_twitch.issue_token(BOT_ID, ["user:write:chat"])
        refreshes.append(fresh.access_token)
        return fresh.access_token

    sent = await helix.send_chat_message(
        stale.access_token,
        broadcaster_id=BROADCASTER_ID,
        sender_id=BOT_ID,
        message="GG",
        refresh=refresh,
    )

    assert sent.is_sent
    assert len(refreshes) == 1
    assert [token for _, _, token in fake_twitch.requests] == [stale.access_token, refreshes[0]]


async def test_a_token_refused_again_after_its_refresh_is_revoked(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    token = fake_twitch.issue_token(BOT_ID, ["user:write:chat"]).access_token
    fake_twitch.unauthorized_next(2)
    refreshes = 0

    async def refresh() -> str:
        nonlocal refreshes
        refreshes += 1
        return token

    with pytest.raises(TokenRevoked):
        await helix.send_chat_message(
            token, broadcaster_id=BROADCASTER_ID, sender_id=BOT_ID, message="GG", refresh=refresh
        )
    assert refreshes == 1
    assert len(fake_twitch.requests) == 2
    assert fake_twitch.chat_messages == []


async def test_a_refresh_refused_by_twitch_is_revoked_too(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    token = fake_twitch.issue_token(BOT_ID, ["user:write:chat"])
    fake_twitch.revoke(token.access_token)

    async def refresh() -> str:
        raise TokenRevoked("Invalid refresh token", status=400)

    with pytest.raises(TokenRevoked):
        await helix.get_user(token.access_token, refresh=refresh)


async def test_a_refused_app_token_is_unauthorized(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    token = fake_twitch.issue_token(None)
    fake_twitch.revoke(token.access_token)

    with pytest.raises(Unauthorized) as refused:
        await helix.list_subscriptions(token.access_token)
    assert not isinstance(refused.value, TokenRevoked)
    assert refused.value.message == "Invalid OAuth token"


async def test_the_fake_signs_deliveries_with_the_subscriptions_secret(
    fake_twitch: FakeTwitch, helix: HelixClient
) -> None:
    app_token = fake_twitch.issue_token(None).access_token
    created = await helix.create_subscription(
        app_token,
        subscription_type="stream.offline",
        condition={"broadcaster_user_id": BROADCASTER_ID},
        transport=webhook_transport(CALLBACK, SECRET),
    )
    assert created.subscription is not None
    delivery = fake_twitch.notification_for(
        created.subscription.id, objects.stream_offline_event(BROADCASTER_ID, "ada")
    )

    verify(SECRET, delivery.headers, delivery.body)
    message = parse(delivery.headers, delivery.body)

    assert message.subscription.id == created.subscription.id
    with pytest.raises(InvalidSignature):
        verify("another-secret-0123", delivery.headers, delivery.body)
