"""The parimutuel rules on their own: exact payouts, the rake from the losing side only, the
refund of everyone when nobody won or nobody lost, and the multiplier shown while betting."""

from hypothesis import given
from hypothesis import strategies as st

from app.pool import parimutuel

#: (stake, won) per position, in position order.
positions = st.lists(st.tuples(st.integers(1, 10**12), st.booleans()), min_size=1, max_size=30)
rakes = st.integers(0, 10_000)


@given(stakes=positions, rake_bps=rakes)
def test_payouts_and_rake_add_up_to_every_stake(
    stakes: list[tuple[int, bool]], rake_bps: int
) -> None:
    paid, rake = parimutuel.payouts(stakes, rake_bps)
    assert sum(paid) + rake == sum(amount for amount, _ in stakes)
    assert all(payout >= 0 for payout in paid)


@given(stakes=positions, rake_bps=rakes)
def test_no_winner_gets_back_less_than_their_stake_and_losers_get_nothing(
    stakes: list[tuple[int, bool]], rake_bps: int
) -> None:
    paid, _ = parimutuel.payouts(stakes, rake_bps)
    staked = sum(amount for amount, _ in stakes)
    winning = sum(amount for amount, won in stakes if won)
    for (amount, won), payout in zip(stakes, paid, strict=True):
        if won or parimutuel.refunds_everyone(staked, winning):
            assert payout >= amount
        else:
            assert payout == 0


@given(stakes=positions, rake_bps=rakes)
def test_fewer_leftover_units_than_winners_each_to_the_largest_remainders(
    stakes: list[tuple[int, bool]], rake_bps: int
) -> None:
    paid, rake = parimutuel.payouts(stakes, rake_bps)
    staked = sum(amount for amount, _ in stakes)
    winning = sum(amount for amount, won in stakes if won)
    if parimutuel.refunds_everyone(staked, winning):
        return
    pot = staked - rake
    winners = [(index, amount) for index, (amount, won) in enumerate(stakes) if won]
    floors = {index: amount * pot // winning for index, amount in winners}
    extra = {index: paid[index] - floors[index] for index, _ in winners}
    assert set(extra.values()) <= {0, 1}
    assert sum(extra.values()) < len(winners)
    # Whoever got a unit had a remainder at least as large as anyone who did not.
    remainder = {index: amount * pot % winning for index, amount in winners}
    got = [remainder[i] for i in extra if extra[i]]
    missed = [remainder[i] for i in extra if not extra[i]]
    if got and missed:
        assert min(got) >= max(missed)


@given(stakes=positions, rake_bps=rakes)
def test_the_rake_comes_from_the_losing_side_only(
    stakes: list[tuple[int, bool]], rake_bps: int
) -> None:
    staked = sum(amount for amount, _ in stakes)
    winning = sum(amount for amount, won in stakes if won)
    _, rake = parimutuel.payouts(stakes, rake_bps)
    assert rake == parimutuel.rake(staked, winning, rake_bps)
    assert 0 <= rake <= staked - winning
    if not parimutuel.refunds_everyone(staked, winning):
        assert rake == (staked - winning) * rake_bps // 10_000


def test_nobody_won_or_nobody_lost_refunds_everyone_without_rake() -> None:
    assert parimutuel.payouts([(100, False), (250, False)], 1_000) == ([100, 250], 0)
    assert parimutuel.payouts([(100, True), (250, True)], 1_000) == ([100, 250], 0)
    assert parimutuel.terms(350, 350, 1_000) == parimutuel.Terms(350, 350, True, 0)
    assert parimutuel.terms(350, 0, 1_000).refund


def test_ties_in_the_remainders_go_to_the_earliest_position() -> None:
    # Three equal winners share a pot of 10: 3 each, and the one unit left to the first.
    assert parimutuel.payouts([(1, True), (7, False), (1, True), (1, True)], 0) == (
        [4, 0, 3, 3],
        0,
    )


def test_a_rake_of_10_percent_on_the_losing_side() -> None:
    # S = 1,000, W = 400: rake = 600 x 10 % = 60, the winners share 940.
    settled = parimutuel.terms(1_000, 400, 1_000)
    assert (settled.refund, settled.rake, settled.pot) == (False, 60, 940)
    assert parimutuel.payouts([(300, True), (100, True), (600, False)], 1_000) == (
        [705, 235, 0],
        60,
    )


def test_the_multiplier_is_what_a_unit_on_the_outcome_returns_now() -> None:
    assert parimutuel.multiplier_bps(1_000, 0, 500) is None  # nothing on it yet
    assert parimutuel.multiplier_bps(1_000, 400, 0) == 25_000
    assert parimutuel.multiplier_bps(1_000, 400, 1_000) == 23_500
    assert parimutuel.multiplier_bps(1_000, 1_000, 1_000) == 10_000  # nobody to win from


@given(stakes=positions, rake_bps=rakes)
def test_a_winner_gets_about_their_stake_times_the_multiplier(
    stakes: list[tuple[int, bool]], rake_bps: int
) -> None:
    paid, _ = parimutuel.payouts(stakes, rake_bps)
    staked = sum(amount for amount, _ in stakes)
    winning = sum(amount for amount, won in stakes if won)
    multiplier = parimutuel.multiplier_bps(staked, winning, rake_bps)
    for (amount, won), payout in zip(stakes, paid, strict=True):
        if won:
            assert multiplier is not None
            # The multiplier is rounded down to a basis point, the payout to a unit.
            assert amount * multiplier // 10_000 <= payout + 1
            assert payout <= amount * (multiplier + 1) // 10_000 + 1
