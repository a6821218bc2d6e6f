"""Kick's webhook signature (RSA PKCS#1 v1.5, SHA-256) and its events as PlatformEvents."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from integrations.kick.webhooks import load_public_key, parse, to_platform_event, verify
from integrations.signed import InvalidSignature, MalformedMessage
from tests.fakes.kick import objects
from tests.fakes.kick.signing import new_key, public_pem, signed_delivery

BROADCASTER, STREAMER = 141981764, "Ada"


def _chat(text: str = "!bet 1 100", **badges: int) -> objects.JsonObject:
    return objects.chat_message_event(
        BROADCASTER,
        STREAMER,
        sender_id=777,
        sender="Grace_H",
        content=text,
        badges=[objects.badge(kind, count=count) for kind, count in badges.items()],
    )


def test_a_delivery_signed_with_the_key_verifies(kick_key: RSAPrivateKey) -> None:
    delivery = signed_delivery("chat.message.sent", _chat(), kick_key)
    verify([load_public_key(public_pem(kick_key))], delivery.headers, delivery.body)


def test_one_changed_byte_another_key_or_a_stale_time_is_refused(
    kick_key: RSAPrivateKey,
) -> None:
    keys = [load_public_key(public_pem(kick_key))]
    delivery = signed_delivery("chat.message.sent", _chat(), kick_key)
    changed = delivery.body.replace(b"!bet 1 100", b"!bet 1 900")
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(keys, delivery.headers, changed)
    forged = signed_delivery("chat.message.sent", _chat(), new_key())
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(keys, forged.headers, forged.body)
    stale = signed_delivery(
        "chat.message.sent", _chat(), kick_key, sent_at=datetime.now(UTC) - timedelta(minutes=11)
    )
    with pytest.raises(InvalidSignature, match="too old"):
        verify(keys, stale.headers, stale.body)
    other_id = delivery.headers | {"Kick-Event-Message-Id": objects.ulid()}
    with pytest.raises(InvalidSignature, match="signature mismatch"):
        verify(keys, other_id, delivery.body)
    for garbage in ("", "not base64!", "A" * 5000):
        with pytest.raises(InvalidSignature):
            verify(keys, delivery.headers | {"Kick-Event-Signature": garbage}, delivery.body)


def test_a_key_written_on_one_line_with_escaped_line_breaks_loads(kick_key: RSAPrivateKey) -> None:
    pem = public_pem(kick_key)
    key = load_public_key(pem.replace("\n", "\\n"))
    assert key.public_numbers() == kick_key.public_key().public_numbers()
    with pytest.raises(ValueError, match=r"(?i)key"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


def test_a_chat_message_becomes_a_platform_event(kick_key: RSAPrivateKey) -> None:
    event = _chat("!bet 1 100 [emote:39261:kkHuh]", moderator=1, subscriber=3)
    delivery = parse(*_signed(kick_key, "chat.message.sent", event))
    normalised = to_platform_event(delivery, received_at=datetime.now(UTC))

    assert normalised is not None
    assert (normalised.platform, normalised.kind) == ("kick", "chat.message")
    assert normalised.channel_id == str(BROADCASTER)
    assert normalised.delivery_id == delivery.message_id
    assert normalised.message_id == event["message_id"]
    assert normalised.text == "!bet 1 100 kkHuh"
    assert normalised.author is not None
    assert normalised.author.user_id == "777"
    assert (normalised.author.login, normalised.author.display_name) == ("grace_h", "Grace_H")
    assert normalised.author.roles == {"moderator", "subscriber"}
    assert normalised.author.badges == ("moderator/1", "subscriber/3")


def test_the_broadcasters_own_message_carries_the_broadcaster_role(
    kick_key: RSAPrivateKey,
) -> None:
    event = objects.chat_message_event(
        BROADCASTER, STREAMER, sender_id=BROADCASTER, sender=STREAMER, content="!lock"
    )
    normalised = to_platform_event(
        parse(*_signed(kick_key, "chat.message.sent", event)), datetime.now(UTC)
    )
    assert normalised is not None and normalised.author is not None
    assert normalised.author.roles == {"broadcaster"}


def test_going_live_and_offline_become_stream_events(kick_key: RSAPrivateKey) -> None:
    started = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    online = objects.livestream_status_event(
        BROADCASTER, STREAMER, is_live=True, started_at=started
    )
    offline = objects.livestream_status_event(
        BROADCASTER, STREAMER, is_live=False, started_at=started, ended_at=started
    )
    up = to_platform_event(
        parse(*_signed(kick_key, "livestream.status.updated", online)), datetime.now(UTC)
    )
    down = to_platform_event(
        parse(*_signed(kick_key, "livestream.status.updated", offline)), datetime.now(UTC)
    )
    assert up is not None and (up.kind, up.occurred_at, up.channel_id) == (
        "stream.online",
        started,
        str(BROADCASTER),
    )
    assert down is not None and down.kind == "stream.offline"


def test_other_events_and_versions_are_not_acted_on_and_bad_ones_are_malformed(
    kick_key: RSAPrivateKey,
) -> None:
    follow = parse(*_signed(kick_key, "channel.followed", {"broadcaster": {}, "follower": {}}))
    assert to_platform_event(follow, datetime.now(UTC)) is None
    chat = signed_delivery("chat.message.sent", _chat(), kick_key, version="2")
    assert to_platform_event(parse(chat.headers, chat.body), datetime.now(UTC)) is None
    broken = parse(*_signed(kick_key, "chat.message.sent", {"content": 1}))
    with pytest.raises(MalformedMessage):
        to_platform_event(broken, datetime.now(UTC))
    with pytest.raises(MalformedMessage):
        parse(chat.headers, b"[1, 2")


def _signed(
    key: RSAPrivateKey, event_type: str, event: objects.JsonObject
) -> tuple[dict[str, str], bytes]:
    delivery = signed_delivery(event_type, event, key)
    return delivery.headers, delivery.body
