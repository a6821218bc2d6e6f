"""Why a channel action was refused."""

from datetime import datetime

from app.kit.errors import AppError, Forbidden, NotFound


class ChannelError(AppError):
    status = 409


class ChannelNotFound(NotFound):
    code = "channel_not_found"
    message = "No such channel."


class NotChannelStaff(Forbidden):
    code = "forbidden"
    message = "Only the channel's owner or its moderators may do this."


class NotChannelOwner(Forbidden):
    code = "forbidden"
    message = "Only the channel's owner may do this."


class ChannelSlugTaken(ChannelError):
    code = "channel_slug_taken"
    message = "Another channel already uses this slug."


class PlatformChannelTaken(ChannelError):
    code = "platform_channel_taken"
    message = "This platform channel is already linked to a channel."


class LinkNeedsOAuth(Forbidden):
    code = "link_requires_oauth"

    def __init__(self, platform: str) -> None:
        super().__init__(
            f"A {platform} channel is linked by signing in with {platform}, as its owner; it"
            " cannot be declared.",
            platform=platform,
        )


class PlatformAccountNotOwners(Forbidden):
    code = "platform_account_not_owners"
    message = "Only the platform account of the channel's owner can be linked to the channel."


class LinkNotFound(NotFound):
    code = "link_not_found"
    message = "This channel has no such platform link."


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "No such user."


class NotAMember(Forbidden):
    """Members only: the channel exists, the caller has not joined it."""

    code = "not_a_member"
    message = "You have not joined this channel; join it first."


class DailyBonusNotReady(ChannelError):
    code = "daily_bonus_not_ready"

    def __init__(self, next_at: datetime) -> None:
        super().__init__(
            "You already claimed today's bonus; come back later.", next_at=next_at.isoformat()
        )


class CashNeedsApproval(Forbidden):
    code = "cash_needs_approval"
    message = "Cash pools need the platform's approval: only an admin may turn them on or off."


class SelfGrant(Forbidden):
    code = "self_grant"
    message = "You may not grant points to yourself; another member of staff must."


class GrantCapReached(ChannelError):
    code = "grant_cap_reached"

    def __init__(self, cap: int, granted: int) -> None:
        remaining = max(cap - granted, 0)
        super().__init__(
            f"amount: you may grant at most {cap} points in this channel in 24 hours; "
            f"{remaining} left.",
            field="amount",
            cap=cap,
            granted=granted,
            remaining=remaining,
        )
