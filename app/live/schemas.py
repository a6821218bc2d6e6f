"""The snapshot a client gets when it joins a channel's room."""

from app.channel.schemas import Channel
from app.chat.schemas import ChatMessage
from app.kit.schema import Output
from app.leaderboard.schemas import Leaderboard
from app.pool.schemas import Pool
from app.wallet.schemas import Wallet


class ChannelSnapshot(Output):
    channel: Channel
    #: Open and locked pools with live totals and the caller's own position.
    pools: list[Pool]
    #: The caller's balances in the channel's points and in cash (empty when anonymous).
    balances: list[Wallet]
    #: The all-time points leaderboard, top 10.
    leaderboard: Leaderboard
    #: The latest chat messages, oldest first.
    chat: list[ChatMessage]
