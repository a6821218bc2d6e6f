"""Leaderboard rows."""

from typing import Literal

from app.kit.schema import Output

Period = Literal["all", "7d", "30d"]


class LeaderboardRow(Output):
    rank: int
    user_id: int
    display_name: str
    net: int
    wins: int


class Leaderboard(Output):
    channel_id: int
    currency: str
    period: str
    rows: list[LeaderboardRow]
