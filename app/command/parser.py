"""Reading chat commands out of chat text; no database, no I/O.

The grammar, as chatters type it (command names in any case, any run of spaces between words):

- ``!bet [#<pool id>] <outcome> <amount>``: the outcome is a 1-based number or a label (the
  words between the command and the amount; matched later, case-insensitively, by the full
  label or by a prefix that only one label starts with). A number always means a position,
  even in a pool whose labels are numbers. The amount is ``all``, ``N%`` (1 to 100, of the
  balance, rounded down) or whole units written with digits only: no sign, no separators
  (``1,000`` and ``1.000`` mean different things to different readers), no exponent
  (``1e3``), at most 2^63 - 1.
- ``!balance``; ``!pool [#<pool id>]``.
- Staff: ``!open <template name>``, ``!lock [#<pool id>]``, ``!resolve [#<pool id>] <outcome>``,
  ``!cancel [#<pool id>]``; also written ``!pool open|lock|resolve|cancel ...``.

Text without a leading ``!`` is not a command. A ``!word`` that is none of ours but close to
one (``!bett``, ``!balanse``) is a ``Usage`` (a hint follows); anything else (another bot's
``!lurk``) is not ours and is ignored."""

import difflib
import re

from app.command import schemas

MAX_UNITS = 2**63 - 1
COMMANDS = ("bet", "balance", "pool", "open", "lock", "resolve", "cancel")
STAFF_SUBCOMMANDS = ("open", "lock", "resolve", "cancel")
#: How close a mistyped name must be to one of ours to earn a hint (difflib's ratio).
TYPO_CUTOFF = 0.8

_DIGITS = re.compile(r"[0-9]+")
_PERCENT = re.compile(r"([0-9]{1,3})%")
_POOL_REF = re.compile(r"#([0-9]{1,18})")

USAGE = {
    "bet": "!bet <outcome number or name> <amount, all or N%>",
    "balance": "!balance",
    "pool": "!pool",
    "open": "!open <template name>",
    "lock": "!lock",
    "resolve": "!resolve <outcome number or name>",
    "cancel": "!cancel",
}


def parse(text: str) -> schemas.Command | schemas.Usage | None:
    """The command in a chat message, a ``Usage`` for one of ours given wrongly, or None."""
    words = text.split()
    if not words or not words[0].startswith("!") or len(words[0]) < 2:
        return None
    name, args = words[0][1:].casefold(), words[1:]
    if name == "pool" and args and args[0].casefold() in STAFF_SUBCOMMANDS:
        name, args = args[0].casefold(), args[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=TYPO_CUTOFF)
        return schemas.Usage(command=close[0]) if close else None
    command = _command(name, args)
    return command if command is not None else schemas.Usage(command=name)


def _command(name: str, args: list[str]) -> schemas.Command | None:
    match name:
        case "balance":
            return schemas.Balance()
        case "open":
            return schemas.OpenPool(template=" ".join(args)) if args else None
    pool_id, args = _pool_ref(args)
    match name:
        case "bet":
            if len(args) < 2:
                return None
            amount = parse_amount(args[-1])
            if amount is None:
                return None
            return schemas.Bet(outcome=" ".join(args[:-1]), amount=amount, pool_id=pool_id)
        case "pool":
            return None if args else schemas.ShowPool(pool_id=pool_id)
        case "lock":
            return None if args else schemas.LockPool(pool_id=pool_id)
        case "cancel":
            return None if args else schemas.CancelPool(pool_id=pool_id)
        case "resolve":
            return schemas.ResolvePool(outcome=" ".join(args), pool_id=pool_id) if args else None
    return None


def _pool_ref(args: list[str]) -> tuple[int | None, list[str]]:
    """A leading ``#<pool id>`` naming the pool, and the arguments after it."""
    if args and (match := _POOL_REF.fullmatch(args[0])):
        return int(match.group(1)), args[1:]
    return None, args


def parse_amount(word: str) -> schemas.Amount | None:
    """``all``, ``N%`` (1 to 100) or positive whole units (digits only, within int64)."""
    if word.casefold() == "all":
        return schemas.Amount(kind="all")
    if match := _PERCENT.fullmatch(word):
        percent = int(match.group(1))
        return schemas.Amount(kind="percent", value=percent) if 1 <= percent <= 100 else None
    if _DIGITS.fullmatch(word) and len(word) <= 19:
        units = int(word)
        return schemas.Amount(kind="units", value=units) if 0 < units <= MAX_UNITS else None
    return None


def stake_of(amount: schemas.Amount, balance: int, room: int) -> int:
    """The units an amount stands for, given the chatter's balance: ``all`` is the whole
    balance up to ``room`` (what the pool's per-user maximum still allows them), so it stakes
    as much as may be staked; ``N%`` is that share of the balance rounded down (refused by the
    bet if below the pool's minimum)."""
    match amount.kind:
        case "all":
            return min(balance, room)
        case "percent":
            return balance * amount.value // 100
    return amount.value


def match_outcome(typed: str, labels: list[str]) -> int | None:
    """The 0-based index of the outcome ``typed`` names among ``labels`` (in position order):
    a 1-based number, a label (any case), or a prefix only one label starts with."""
    typed = typed.strip()
    if _DIGITS.fullmatch(typed):
        number = int(typed)
        return number - 1 if 1 <= number <= len(labels) else None
    folded = typed.casefold()
    for index, label in enumerate(labels):
        if label.casefold() == folded:
            return index
    starting = [i for i, label in enumerate(labels) if label.casefold().startswith(folded)]
    return starting[0] if len(starting) == 1 else None
