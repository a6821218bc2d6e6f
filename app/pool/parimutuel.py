"""The parimutuel money rules (DESIGN §5), each defined here once and nowhere else: the rake,
when everyone is refunded, each winner's payout, and the multiplier shown while betting.

Pure arithmetic on integer minor units, no I/O. Settlement SQL gets the rake and the refund
decision from :func:`terms`; its set-based split of the pot is checked against
:func:`payouts` by the property tests."""

from dataclasses import dataclass

#: Basis points in a whole: a rake of 250 bps is 2.5 %.
BPS = 10_000


def refunds_everyone(staked: int, winning: int) -> bool:
    """With no winners (``W = 0``) or no losers (``W = S``) there is nobody to pay from or
    to: every stake goes back, and there is no rake."""
    return winning == 0 or winning == staked


def rake(staked: int, winning: int, rake_bps: int) -> int:
    """``floor((S - W) * rake_bps / 10000)``: taken from the losing side only, so no winner
    gets back less than their stake; none when everyone is refunded."""
    if refunds_everyone(staked, winning):
        return 0
    return (staked - winning) * rake_bps // BPS


@dataclass(frozen=True, slots=True)
class Terms:
    """What settling a pool with ``staked`` in all and ``winning`` on the winner comes to."""

    staked: int
    winning: int
    refund: bool
    rake: int

    @property
    def pot(self) -> int:
        """What the winners share: everything but the rake."""
        return self.staked - self.rake


def terms(staked: int, winning: int, rake_bps: int) -> Terms:
    return Terms(
        staked, winning, refunds_everyone(staked, winning), rake(staked, winning, rake_bps)
    )


def payouts(stakes: list[tuple[int, bool]], rake_bps: int) -> tuple[list[int], int]:
    """The reference settlement: (what each position gets back, in order; the rake), for
    positions given as (stake, won), in position order. Each winner gets
    ``floor(stake * pot / W)``; the leftover units, fewer than the winners, go one each to
    the largest remainders, ties to the earliest position. Payouts + rake = S exactly."""
    staked = sum(amount for amount, _ in stakes)
    winning = sum(amount for amount, won in stakes if won)
    settled = terms(staked, winning, rake_bps)
    if settled.refund:
        return [amount for amount, _ in stakes], 0
    paid = [0] * len(stakes)
    remainders: list[tuple[int, int]] = []
    for index, (amount, won) in enumerate(stakes):
        if won:
            paid[index], remainder = divmod(amount * settled.pot, winning)
            remainders.append((-remainder, index))
    leftover = settled.pot - sum(paid)
    for _, index in sorted(remainders)[:leftover]:
        paid[index] += 1
    return paid, settled.rake


def multiplier_bps(staked: int, on_outcome: int, rake_bps: int) -> int | None:
    """What a unit on this outcome returns if it wins, now, in basis points (None while
    nothing is on it)."""
    if on_outcome == 0:
        return None
    return (staked - rake(staked, on_outcome, rake_bps)) * BPS // on_outcome
