"""Reading chat commands: names in any case, any spacing, outcomes by number or label, and
amounts as digits, ``all`` or ``N%``; anything else is a hint or not ours."""

import pytest

from app.command import parser
from app.command.schemas import (
    Amount,
    Balance,
    Bet,
    CancelPool,
    Command,
    LockPool,
    OpenPool,
    ResolvePool,
    ShowPool,
    Usage,
)

UNITS = Amount(kind="units", value=500)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!bet 2 500", Bet(outcome="2", amount=UNITS)),
        ("  !BET   2\t500  ", Bet(outcome="2", amount=UNITS)),
        ("!Bet yes 500", Bet(outcome="yes", amount=UNITS)),
        ("!bet Boss wins 500", Bet(outcome="Boss wins", amount=UNITS)),
        ("!bet #12 1 500", Bet(outcome="1", amount=UNITS, pool_id=12)),
        ("!bet 1 all", Bet(outcome="1", amount=Amount(kind="all"))),
        ("!bet 1 ALL", Bet(outcome="1", amount=Amount(kind="all"))),
        ("!bet 1 25%", Bet(outcome="1", amount=Amount(kind="percent", value=25))),
        ("!bet 1 100%", Bet(outcome="1", amount=Amount(kind="percent", value=100))),
        (
            "!bet 1 9223372036854775807",
            Bet(outcome="1", amount=Amount(kind="units", value=2**63 - 1)),
        ),
        ("!balance", Balance()),
        ("!BALANCE now", Balance()),
        ("!pool", ShowPool()),
        ("!pool #7", ShowPool(pool_id=7)),
        ("!open Boss fight", OpenPool(template="Boss fight")),
        ("!lock", LockPool()),
        ("!lock #3", LockPool(pool_id=3)),
        ("!resolve 2", ResolvePool(outcome="2")),
        ("!resolve #3 no", ResolvePool(outcome="no", pool_id=3)),
        ("!cancel", CancelPool()),
        # DESIGN.md's spelling of the staff commands
        ("!pool open Boss fight", OpenPool(template="Boss fight")),
        ("!pool LOCK", LockPool()),
        ("!pool resolve Yes", ResolvePool(outcome="Yes")),
        ("!pool cancel #4", CancelPool(pool_id=4)),
    ],
)
def test_commands_are_read(text: str, expected: Command) -> None:
    assert parser.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "!bet 1 -5",
        "!bet 1 0",
        "!bet 1 1e3",
        "!bet 1 1,000",
        "!bet 1 1.5",
        "!bet 1 +5",
        "!bet 1 9223372036854775808",
        "!bet 1 99999999999999999999",
        "!bet 1 0%",
        "!bet 1 101%",
        "!bet 1 half",
        "!bet 500",
        "!bet",
        "!lock now please",
        "!resolve",
        "!open",
        "!pool whatever",
    ],
)
def test_our_commands_given_wrongly_get_their_usage(text: str) -> None:
    result = parser.parse(text)
    assert isinstance(result, Usage)
    assert result.command == text.split()[0][1:]


@pytest.mark.parametrize(
    ("text", "command"),
    [("!bett 1 5", "bet"), ("!BETS", "bet"), ("!balanse", "balance"), ("!pools", "pool")],
)
def test_a_typo_of_ours_gets_a_hint(text: str, command: str) -> None:
    assert parser.parse(text) == Usage(command=command)


@pytest.mark.parametrize(
    "text", ["hello", "bet 1 500", "! bet 1 500", "!", "!lurk", "!uptime", "", "   "]
)
def test_other_text_is_not_ours(text: str) -> None:
    assert parser.parse(text) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1", 0),
        ("3", 2),
        ("0", None),
        ("4", None),
        ("yes", 0),
        ("NO", 1),
        ("no way", 2),
        ("y", 0),
        ("no w", 2),
        ("n", None),  # "No" and "No way": ambiguous
        ("maybe", None),
    ],
)
def test_an_outcome_is_found_by_number_label_or_unambiguous_prefix(
    typed: str, expected: int | None
) -> None:
    assert parser.match_outcome(typed, ["Yes", "No", "No way"]) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Amount(kind="units", value=300), 300),
        (Amount(kind="all"), 1_000),
        (Amount(kind="percent", value=33), 330),
        (Amount(kind="percent", value=1), 10),
        (Amount(kind="percent", value=100), 1_000),
    ],
)
def test_a_stake_is_worked_out_from_the_balance(amount: Amount, expected: int) -> None:
    assert parser.stake_of(amount, balance=1_000, room=5_000) == expected


def test_all_stops_at_what_the_pool_still_takes_from_the_chatter() -> None:
    assert parser.stake_of(Amount(kind="all"), balance=10_000, room=5_000) == 5_000
    assert parser.stake_of(Amount(kind="percent", value=3), balance=10, room=5) == 0
