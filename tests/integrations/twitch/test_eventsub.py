"""EventSub webhook deliveries: signatures, parsing, and the normalised events they become."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from integrations.twitch.eventsub import (
    EventSubMessage,
    InvalidSignature,
    MalformedMessage,
    parse,
    parse_timestamp,
    to_platform_event,
    verify,
)
from tests.fakes.twitch import objects
from tests.fakes.twitch.signing import Delivery, notification, revocation, verification

SECRET = "s3cr3t-of-the-subscription"
BROADCASTER_ID, BROADCASTER = "1337", "ada"
BOT_ID = "4242"
NOW = datetime(2026, 3, 1, 20, 0, 0, tzinfo=UTC)


def subscription(subscription_type: str, **condition: str) -> dict[str, Any]:
    return objects.subscription(
        subscription_type,
        condition or {"broadcaster_user_id": BROADCASTER_ID},
        {"method": "webhook", "callback": "https://streampools.example/webhooks/twitch"},
    )


def deliver(subscription_type: str, event: dict[str, Any], **options: Any) -> Delivery:
    return notification(subscription(subscription_type), event, SECRET, sent_at=NOW, **options)


def received(delivery: Delivery) -> EventSubMessage:
    verify(SECRET, delivery.headers, delivery.body, now=NOW)
    return parse(delivery.headers, delivery.body)


# --- signatures ---------------------------------------------------------------------------------

# Twitch's "Verifying the event message" section shows how to sign (and example headers) but
# publishes no signed example with its expected signature: these values are our own, and the
# expected signature is computed here independently of the code under test.
EXAMPLE_ID = "e76c6bd4-55c9-4987-8304-da1588d8988b"
EXAMPLE_TIMESTAMP = "2019-11-16T10:11:12.634234626Z"
EXAMPLE_BODY = (
    b'{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled",'
    b'"type":"stream.offline","version":"1","condition":{"broadcaster_user_id":"1337"},'
    b'"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},'
    b'"created_at":"2019-11-16T10:11:12.634234626Z","cost":0},"event":{'
    b'"broadcaster_user_id":"1337","broadcaster_user_login":"cool_user",'
    b'"broadcaster_user_name":"Cool_User"}}'
)
EXAMPLE_SECRET = b"0123456789abcdef"
EXAMPLE_SENT_AT = datetime(2019, 11, 16, 10, 11, 12, 634234, tzinfo=UTC)


def example_headers(**overrides: str) -> dict[str, str]:
    expected = hmac.new(
        EXAMPLE_SECRET,
        EXAMPLE_ID.encode() + EXAMPLE_TIMESTAMP.encode() + EXAMPLE_BODY,
        hashlib.sha256,
    ).hexdigest()
    return {
        "Twitch-Eventsub-Message-Id": EXAMPLE_ID,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Type": "notification",
        "Twitch-Eventsub-Message-Signature": f"sha256={expected}",
        "Twitch-Eventsub-Message-Timestamp": EXAMPLE_TIMESTAMP,
        "Twitch-Eventsub-Subscription-Type": "stream.offline",
        "Twitch-Eventsub-Subscription-Version": "1",
    } | overrides


def one_byte_changed(value: bytes, at: int) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


def test_the_example_delivery_verifies() -> None:
    verify(EXAMPLE_SECRET, example_headers(), EXAMPLE_BODY, now=EXAMPLE_SENT_AT)
    verify(EXAMPLE_SECRET.decode(), example_headers(), EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


@pytest.mark.parametrize("at", [0, len(EXAMPLE_BODY) // 2, len(EXAMPLE_BODY) - 1])
def test_a_body_changed_by_one_byte_is_refused(at: int) -> None:
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(
            EXAMPLE_SECRET, example_headers(), one_byte_changed(EXAMPLE_BODY, at), EXAMPLE_SENT_AT
        )


def test_a_message_id_changed_by_one_byte_is_refused() -> None:
    headers = example_headers()
    headers["Twitch-Eventsub-Message-Id"] = one_byte_changed(EXAMPLE_ID.encode(), 3).decode()
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


def test_a_timestamp_changed_by_one_byte_is_refused() -> None:
    # The last nanosecond digit: the same instant to the microsecond, another signed message.
    headers = example_headers()
    headers["Twitch-Eventsub-Message-Timestamp"] = EXAMPLE_TIMESTAMP.replace("626Z", "627Z")
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


def test_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(b"another-secret-0123", example_headers(), EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


def test_a_signature_without_its_scheme_is_refused() -> None:
    headers = example_headers()
    headers["Twitch-Eventsub-Message-Signature"] = headers[
        "Twitch-Eventsub-Message-Signature"
    ].removeprefix("sha256=")
    with pytest.raises(InvalidSignature):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


def test_a_non_ascii_signature_is_refused_not_crashed_on() -> None:
    headers = example_headers(**{"Twitch-Eventsub-Message-Signature": "sha256=é"})
    with pytest.raises(InvalidSignature):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


@pytest.mark.parametrize(
    "missing",
    [
        "Twitch-Eventsub-Message-Id",
        "Twitch-Eventsub-Message-Timestamp",
        "Twitch-Eventsub-Message-Signature",
    ],
)
def test_missing_headers_are_refused(missing: str) -> None:
    headers = example_headers()
    del headers[missing]
    with pytest.raises(InvalidSignature, match=f"missing header {missing.lower()}"):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


def test_header_names_are_case_insensitive() -> None:
    lower = {name.lower(): value for name, value in example_headers().items()}
    upper = {name.upper(): value for name, value in example_headers().items()}
    verify(EXAMPLE_SECRET, lower, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)
    verify(EXAMPLE_SECRET, upper, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)
    assert parse(upper, EXAMPLE_BODY).message_id == EXAMPLE_ID


def test_a_message_up_to_ten_minutes_old_or_early_is_accepted() -> None:
    for skew in (timedelta(minutes=10), -timedelta(minutes=10)):
        verify(EXAMPLE_SECRET, example_headers(), EXAMPLE_BODY, now=EXAMPLE_SENT_AT + skew)


def test_a_message_older_than_ten_minutes_is_refused() -> None:
    later = EXAMPLE_SENT_AT + timedelta(minutes=10, microseconds=1)
    with pytest.raises(InvalidSignature, match="timestamp too old"):
        verify(EXAMPLE_SECRET, example_headers(), EXAMPLE_BODY, now=later)


def test_a_message_from_more_than_ten_minutes_ahead_is_refused() -> None:
    earlier = EXAMPLE_SENT_AT - timedelta(minutes=10, microseconds=1)
    with pytest.raises(InvalidSignature, match="timestamp in the future"):
        verify(EXAMPLE_SECRET, example_headers(), EXAMPLE_BODY, now=earlier)


def test_a_fresh_delivery_is_checked_against_the_clock() -> None:
    delivery = notification(
        subscription("stream.offline"),
        objects.stream_offline_event(BROADCASTER_ID, BROADCASTER),
        SECRET,
    )
    verify(SECRET, delivery.headers, delivery.body)


def test_an_empty_secret_disables_verification() -> None:
    with pytest.raises(ValueError, match="disabled"):
        verify("", example_headers(), EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-11-16T10:11:12.634234626Z", datetime(2019, 11, 16, 10, 11, 12, 634234, UTC)),
        ("2019-11-16T10:11:12.1Z", datetime(2019, 11, 16, 10, 11, 12, 100000, UTC)),
        ("2019-11-16T10:11:12Z", datetime(2019, 11, 16, 10, 11, 12, tzinfo=UTC)),
        ("2019-11-16T12:11:12.5+02:00", datetime(2019, 11, 16, 10, 11, 12, 500000, UTC)),
    ],
)
def test_rfc3339_timestamps_with_nanoseconds_are_read(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "2019-11-16", "2019-11-16T10:11:12", "yesterday"])
def test_malformed_timestamps_are_refused(text: str) -> None:
    headers = example_headers(**{"Twitch-Eventsub-Message-Timestamp": text})
    with pytest.raises(InvalidSignature):
        verify(EXAMPLE_SECRET, headers, EXAMPLE_BODY, now=EXAMPLE_SENT_AT)


# --- parsing ------------------------------------------------------------------------------------


def test_a_notification_is_parsed() -> None:
    message = parse(example_headers(), EXAMPLE_BODY)

    assert message.message_type == "notification"
    assert message.message_id == EXAMPLE_ID
    assert message.retry == 0
    assert message.timestamp == EXAMPLE_SENT_AT
    assert message.subscription.type == "stream.offline"
    assert message.subscription.condition == {"broadcaster_user_id": "1337"}
    # msgspec rounds nanoseconds to the nearest microsecond where parse_timestamp truncates.
    assert abs(message.subscription.created_at - EXAMPLE_SENT_AT) <= timedelta(microseconds=1)
    assert message.event == {
        "broadcaster_user_id": "1337",
        "broadcaster_user_login": "cool_user",
        "broadcaster_user_name": "Cool_User",
    }


def test_a_resend_keeps_its_message_id_and_counts_retries() -> None:
    first = deliver("stream.offline", objects.stream_offline_event(BROADCASTER_ID, BROADCASTER))
    resend = deliver(
        "stream.offline",
        objects.stream_offline_event(BROADCASTER_ID, BROADCASTER),
        message_id=first.message_id,
        retry=2,
    )
    assert received(resend).message_id == received(first).message_id
    assert received(resend).retry == 2


def test_a_verification_challenge_is_parsed() -> None:
    delivery = verification(subscription("stream.online"), SECRET, challenge="pogchamp-kappa-360")
    verify(SECRET, delivery.headers, delivery.body)
    message = parse(delivery.headers, delivery.body)

    assert message.message_type == "webhook_callback_verification"
    assert message.challenge == "pogchamp-kappa-360"
    assert message.subscription.status == "webhook_callback_verification_pending"
    assert to_platform_event(message, NOW) is None


def test_a_revocation_is_parsed() -> None:
    delivery = revocation(subscription("channel.chat.message"), SECRET, reason="user_removed")
    verify(SECRET, delivery.headers, delivery.body)
    message = parse(delivery.headers, delivery.body)

    assert message.message_type == "revocation"
    assert message.subscription.status == "user_removed"
    assert message.event is None
    assert to_platform_event(message, NOW) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"event": {}}',
        b'{"subscription": {"id": 1}, "event": {}}',
        b'{"subscription": "nope"}',
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse(example_headers(), body)


def test_a_notification_without_an_event_is_refused() -> None:
    body = msgspec.json.encode({"subscription": msgspec.json.decode(EXAMPLE_BODY)["subscription"]})
    with pytest.raises(MalformedMessage, match="without an event"):
        parse(example_headers(), body)


@pytest.mark.parametrize(
    "headers",
    [
        {"Twitch-Eventsub-Message-Type": "webhook"},
        {"Twitch-Eventsub-Message-Retry": "one"},
        {"Twitch-Eventsub-Message-Timestamp": "now"},
    ],
)
def test_malformed_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedMessage):
        parse(example_headers(**headers), EXAMPLE_BODY)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_json_is_refused_not_crashed_on(depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    body = EXAMPLE_BODY[:-2] + b',"extra":' + nested + b"}}"
    with pytest.raises(MalformedMessage, match="nested too deep"):
        parse(example_headers(), body)
    with pytest.raises(MalformedMessage):
        parse(example_headers(), nested)


# --- normalisation ------------------------------------------------------------------------------


def test_stream_online_opens_a_stream_session() -> None:
    started = NOW - timedelta(seconds=3)
    event = objects.stream_online_event(
        BROADCASTER_ID, BROADCASTER, stream_id="40078987165", started_at=started
    )
    delivery = deliver("stream.online", event)

    platform_event = to_platform_event(received(delivery), NOW)

    assert platform_event is not None
    assert platform_event.kind == "stream.online"
    assert platform_event.platform == "twitch"
    assert platform_event.delivery_id == delivery.message_id
    assert platform_event.channel_id == BROADCASTER_ID
    assert platform_event.stream_id == "40078987165"
    assert platform_event.occurred_at == started
    assert platform_event.received_at == NOW
    assert platform_event.raw == event


@pytest.mark.parametrize("stream_type", ["rerun", "premiere", "playlist", "watch_party"])
def test_recorded_video_going_online_is_not_a_live_stream(stream_type: str) -> None:
    event = objects.stream_online_event(BROADCASTER_ID, BROADCASTER, stream_type=stream_type)
    assert to_platform_event(received(deliver("stream.online", event)), NOW) is None


def test_stream_offline_ends_the_stream_at_the_message_time() -> None:
    delivery = deliver("stream.offline", objects.stream_offline_event(BROADCASTER_ID, BROADCASTER))

    platform_event = to_platform_event(received(delivery), NOW + timedelta(seconds=1))

    assert platform_event is not None
    assert platform_event.kind == "stream.offline"
    assert platform_event.channel_id == BROADCASTER_ID
    assert platform_event.occurred_at == NOW
    assert platform_event.stream_id is None


def chat(text: str, *, chatter: tuple[str, str], badges: list[dict[str, Any]]) -> dict[str, Any]:
    return objects.chat_message_event(
        BROADCASTER_ID,
        BROADCASTER,
        chatter_id=chatter[0],
        chatter_login=chatter[1],
        text=text,
        badges=badges,
        message_id="cc106a89-1814-919d-454c-f4f2f970aae7",
    )


def test_a_chat_message_carries_its_author_text_and_id() -> None:
    event = chat(
        "!bet yes 500",
        chatter=("777", "grace"),
        badges=[objects.badge("subscriber", "12", "14"), objects.badge("premium")],
    )
    delivery = notification(
        subscription("channel.chat.message", broadcaster_user_id=BROADCASTER_ID, user_id=BOT_ID),
        event,
        SECRET,
        sent_at=NOW,
    )

    platform_event = to_platform_event(received(delivery), NOW)

    assert platform_event is not None
    assert platform_event.kind == "chat.message"
    assert platform_event.channel_id == BROADCASTER_ID
    assert platform_event.message_id == "cc106a89-1814-919d-454c-f4f2f970aae7"
    assert platform_event.text == "!bet yes 500"
    assert platform_event.author is not None
    assert platform_event.author.user_id == "777"
    assert platform_event.author.login == "grace"
    assert platform_event.author.display_name == "Grace"
    assert platform_event.author.roles == {"subscriber"}
    assert platform_event.author.badges == ("subscriber/12", "premium/1")
    assert platform_event.occurred_at == NOW


@pytest.mark.parametrize(
    ("badges", "roles"),
    [
        ([], set()),
        ([objects.badge("moderator")], {"moderator"}),
        ([objects.badge("vip")], {"vip"}),
        ([objects.badge("founder", "0")], {"subscriber"}),
        (
            [objects.badge("moderator"), objects.badge("subscriber", "3")],
            {"moderator", "subscriber"},
        ),
        ([objects.badge("bits", "100"), objects.badge("glhf-pledge")], set()),
    ],
)
def test_chat_roles_come_from_badges(badges: list[dict[str, Any]], roles: set[str]) -> None:
    delivery = deliver(
        "channel.chat.message", chat("!pool lock", chatter=("9", "eve"), badges=badges)
    )
    platform_event = to_platform_event(received(delivery), NOW)
    assert platform_event is not None and platform_event.author is not None
    assert platform_event.author.roles == roles


def test_the_broadcaster_is_the_broadcaster_with_or_without_the_badge() -> None:
    for badges in ([objects.badge("broadcaster")], []):
        event = chat("!pool open", chatter=(BROADCASTER_ID, BROADCASTER), badges=badges)
        platform_event = to_platform_event(received(deliver("channel.chat.message", event)), NOW)
        assert platform_event is not None and platform_event.author is not None
        assert platform_event.author.roles == {"broadcaster"}


def test_a_chat_message_without_its_author_is_malformed() -> None:
    event = chat("hi", chatter=("9", "eve"), badges=[])
    del event["chatter_user_id"]
    with pytest.raises(MalformedMessage, match="chatter_user_id"):
        to_platform_event(received(deliver("channel.chat.message", event)), NOW)


PREDICTION_ID = "1243456"
OUTCOMES = [
    objects.outcome(
        "1243456",
        "Yeah!",
        color="blue",
        users=10,
        channel_points=15000,
        top_predictors=[objects.top_predictor("1234", "cool_user", used=500)],
    ),
    objects.outcome("2243456", "No!", color="pink", users=3, channel_points=900),
]


def prediction(phase: str, **fields: Any) -> EventSubMessage:
    event = objects.prediction_event(
        phase,
        BROADCASTER_ID,
        BROADCASTER,
        prediction_id=PREDICTION_ID,
        title="Aren't shoes just really hard socks?",
        outcomes=OUTCOMES,
        started_at=NOW - timedelta(minutes=2),
        locks_at=NOW + timedelta(minutes=8),
        locked_at=NOW,
        ended_at=NOW + timedelta(minutes=1),
        **fields,
    )
    return received(deliver(f"channel.prediction.{phase}", event))


def test_a_prediction_begins_with_no_predictors_yet() -> None:
    message = prediction("begin")
    assert message.event is not None
    assert "users" not in message.event["outcomes"][0]

    platform_event = to_platform_event(message, NOW)

    assert platform_event is not None and platform_event.prediction is not None
    assert platform_event.kind == "prediction.begin"
    assert platform_event.occurred_at == NOW - timedelta(minutes=2)
    assert platform_event.prediction.id == PREDICTION_ID
    assert platform_event.prediction.status == "active"
    assert platform_event.prediction.locks_at == NOW + timedelta(minutes=8)
    assert [(o.id, o.title, o.users, o.points) for o in platform_event.prediction.outcomes] == [
        ("1243456", "Yeah!", 0, 0),
        ("2243456", "No!", 0, 0),
    ]


def test_prediction_progress_carries_the_totals() -> None:
    platform_event = to_platform_event(prediction("progress"), NOW)

    assert platform_event is not None and platform_event.prediction is not None
    assert platform_event.kind == "prediction.progress"
    assert platform_event.prediction.status == "active"
    assert [(o.users, o.points) for o in platform_event.prediction.outcomes] == [
        (10, 15000),
        (3, 900),
    ]


def test_a_prediction_locks() -> None:
    platform_event = to_platform_event(prediction("lock"), NOW)

    assert platform_event is not None and platform_event.prediction is not None
    assert platform_event.kind == "prediction.lock"
    assert platform_event.prediction.status == "locked"
    assert platform_event.occurred_at == NOW


def test_a_prediction_is_resolved_with_its_winner() -> None:
    platform_event = to_platform_event(
        prediction("end", status="resolved", winning_outcome_id="2243456"), NOW
    )

    assert platform_event is not None and platform_event.prediction is not None
    assert platform_event.kind == "prediction.end"
    assert platform_event.prediction.status == "resolved"
    assert platform_event.prediction.winning_outcome_id == "2243456"
    assert platform_event.occurred_at == NOW + timedelta(minutes=1)


def test_a_canceled_prediction_has_no_winner() -> None:
    platform_event = to_platform_event(prediction("end", status="canceled"), NOW)

    assert platform_event is not None and platform_event.prediction is not None
    assert platform_event.prediction.status == "canceled"
    assert platform_event.prediction.winning_outcome_id is None


@pytest.mark.parametrize(
    "fields",
    [{"status": "resolved", "winning_outcome_id": None}, {"status": "active"}],
)
def test_an_end_that_is_neither_resolved_nor_canceled_is_malformed(fields: dict[str, Any]) -> None:
    message = prediction("end", **fields)
    with pytest.raises(MalformedMessage):
        to_platform_event(message, NOW)


def test_other_subscription_types_are_ignored() -> None:
    event = {
        "user_id": "1",
        "user_login": "a",
        "user_name": "A",
        **chat("x", chatter=("1", "a"), badges=[]),
    }
    assert to_platform_event(received(deliver("channel.follow", event)), NOW) is None
