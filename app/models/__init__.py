"""All ORM models, imported here so the metadata is complete wherever it is used."""

from app.models.automation import (
    AutomationFiring,
    AutomationKind,
    AutomationRule,
    ChannelStream,
    PlatformStream,
)
from app.models.base import Base
from app.models.channel import (
    Channel,
    ChannelAudit,
    ChannelLink,
    ChannelMember,
    ChannelModerator,
    LinkStatus,
    Platform,
    PointsGrant,
)
from app.models.chat import ChatModeration, ModerationAction
from app.models.command import ChatCommand
from app.models.inbox import InboxEvent
from app.models.ledger import (
    Account,
    AccountKind,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)
from app.models.notification import (
    DeliveryStatus,
    Device,
    DevicePlatform,
    Notification,
    NotificationDelivery,
    NotificationEvent,
    NotificationKind,
    NotificationPreferences,
    PushState,
)
from app.models.overlay import OverlayKey
from app.models.payment import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus
from app.models.pool import (
    Bet,
    BetPlacement,
    Pool,
    PoolOutcome,
    PoolStatus,
    PoolTemplate,
    PoolTransition,
)
from app.models.protection import DepositLimit, LimitPeriod, ProtectionAudit, SelfExclusion
from app.models.user import RefreshToken, Role, User

__all__ = [
    "Account",
    "AccountKind",
    "AutomationFiring",
    "AutomationKind",
    "AutomationRule",
    "Base",
    "Bet",
    "BetPlacement",
    "Channel",
    "ChannelAudit",
    "ChannelLink",
    "ChannelMember",
    "ChannelModerator",
    "ChannelStream",
    "ChatCommand",
    "ChatModeration",
    "DeliveryStatus",
    "Deposit",
    "DepositLimit",
    "DepositStatus",
    "Device",
    "DevicePlatform",
    "InboxEvent",
    "LedgerEntry",
    "LedgerTransaction",
    "LimitPeriod",
    "LinkStatus",
    "ModerationAction",
    "Notification",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationKind",
    "NotificationPreferences",
    "OverlayKey",
    "Platform",
    "PlatformAccount",
    "PlatformStream",
    "PlatformToken",
    "PointsGrant",
    "Pool",
    "PoolOutcome",
    "PoolStatus",
    "PoolTemplate",
    "PoolTransition",
    "ProtectionAudit",
    "PushState",
    "RefreshToken",
    "Role",
    "SelfExclusion",
    "TokenPurpose",
    "TokenStatus",
    "TransactionKind",
    "User",
    "Withdrawal",
    "WithdrawalStatus",
]
