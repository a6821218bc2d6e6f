"""Whatever a client sends, every entry point holds it to the same rules: text without control
characters or broken Unicode, JSON no deeper than we parse, ids PostgreSQL can hold. A payload
that breaks them is refused with a 422 naming the field, and nothing is stored."""

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.errors import InvalidInput
from app.kit.payload import MAX_DEPTH, check_payload, text_problem, too_deep
from app.kit.resources import Resources
from app.kit.schema import Input
from app.kit.uow import unit_of_work
from app.pool.schemas import PoolCreate
from tests.factories import DEFAULT_PASSWORD, unique_email
from tests.worlds import World, pool_body, world

__all__ = ["world"]


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def refusal(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == "validation_error"
    return error


# -- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a\x00b", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85", "cr\r", "a\nb", "\ud800"]
)
def test_control_characters_and_lone_surrogates_are_not_text(value: str) -> None:
    assert text_problem(value) is not None


@pytest.mark.parametrize("value", ["gg no re", "Ünïcödé", "😀 emoji", "中文", "tab-free"])
def test_ordinary_text_of_any_script_is_fine(value: str) -> None:
    assert text_problem(value) is None


def test_multi_line_text_keeps_tabs_and_line_breaks_but_not_nul() -> None:
    assert text_problem("one\n\ttwo\r\n", multiline=True) is None
    assert text_problem("one\x00", multiline=True) is not None


def test_the_first_bad_field_is_named_with_its_path() -> None:
    body = PoolCreate(channel_id=1, title="ok", outcomes=["Yes", "N\x00o"], window_seconds=60)
    with pytest.raises(InvalidInput) as refused:
        check_payload(body)
    assert refused.value.details == {"field": "outcomes[1]"}
    assert "NUL" in refused.value.detail


def test_depth_is_measured_without_parsing_and_ignores_brackets_in_strings() -> None:
    assert not too_deep(nested(MAX_DEPTH))
    assert too_deep(nested(MAX_DEPTH + 1))
    assert too_deep(b"[" * 100_000)
    assert not too_deep(b'["' + b"[" * 1000 + b'"]')
    assert not too_deep(b"[]" * 100_000)


# -- over REST ---------------------------------------------------------------------------------


async def test_control_characters_in_any_text_field_are_refused_naming_the_field(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    owner = world.owner.auth
    count_channels = text("SELECT count(*) FROM channels")
    async with unit_of_work(resources) as session:
        channels = await session.scalar(count_channels)
    answers = {
        "title": await client.post(
            "/api/v1/pools", json=pool_body(world, title="Boss\x1b[2J"), headers=owner
        ),
        "outcomes[1]": await client.post(
            "/api/v1/pools", json=pool_body(world, outcomes=["Yes", "N\x00o"]), headers=owner
        ),
        "name": await client.post(
            "/api/v1/channels", json={"name": "chan\x07nel", "slug": "bell"}, headers=owner
        ),
        "display_name": await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": DEFAULT_PASSWORD, "display_name": "a\x85"},
        ),
    }
    for field, answer in answers.items():
        error = refusal(answer)
        assert error["details"]["fields"][0]["field"] == field, error
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM pools")) == 0
        assert await session.scalar(count_channels) == channels


async def test_json_nested_thousands_deep_is_refused_not_a_server_error(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = {**world.owner.auth, "Content-Type": "application/json"}
    for depth in (MAX_DEPTH + 1, 5_000, 100_000):
        deep = b"[" * depth + b"]" * depth  # 200 kB at 100,000 levels: under the size limit
        body = b'{"channel_id": 1, "title": "x", "outcomes": ["a", "b"], "extra": ' + deep + b"}"
        answer = await client.post("/api/v1/pools", content=body, headers=headers)
        assert "nest" in refusal(answer)["message"]


async def test_a_body_that_is_not_utf8_is_refused(client: httpx.AsyncClient) -> None:
    body = b'{"email": "\xed\xa0\x80@example.com", "password": "x"}'
    answer = await client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    refusal(answer)


async def test_ids_beyond_64_bits_are_refused_before_the_database_without_a_traceback(
    client: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    huge = 2**63
    owner = world.owner.auth
    caplog.set_level(logging.INFO)
    answers = {
        "pool_id": await client.get(f"/api/v1/pools/{huge}"),
        "channel_id": await client.post(
            f"/api/v1/channels/{huge}/moderators", json={"user_id": 1}, headers=owner
        ),
        "user_id": await client.post(
            f"/api/v1/channels/{world.channel_id}/moderators",
            json={"user_id": huge},
            headers=owner,
        ),
    }
    for field, answer in answers.items():
        assert refusal(answer)["details"]["fields"][0]["field"] == field
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == []


def test_a_schema_may_let_a_field_span_lines() -> None:
    class Note(Input):
        multiline_fields = frozenset({"body"})
        title: str
        body: str

    check_payload(Note(title="Title", body="line one\n\tline two"))
    with pytest.raises(InvalidInput):
        check_payload(Note(title="Title\n", body="fine"))
    with pytest.raises(InvalidInput):
        check_payload(Note(title="Title", body="nul\x00"))
