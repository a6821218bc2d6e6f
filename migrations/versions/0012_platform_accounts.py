"""platform accounts and their encrypted tokens; verified channel links; chat-only users;
automation rules, their firings and the channels' stream sessions

A channel link's ``verified`` flag becomes ``status`` (unverified | verified | needs_relink),
and a verified link names the platform account whose owner made it through OAuth.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM = postgresql.ENUM("twitch", "kick", "youtube", name="platform", create_type=False)
TOKEN_PURPOSE = postgresql.ENUM("broadcaster", "bot", name="token_purpose", create_type=False)
TOKEN_STATUS = postgresql.ENUM("active", "needs_relink", name="token_status", create_type=False)
LINK_STATUS = postgresql.ENUM(
    "unverified", "verified", "needs_relink", name="link_status", create_type=False
)
AUTOMATION_KIND = postgresql.ENUM(
    "stream_online",
    "stream_offline",
    "mirror_predictions",
    name="automation_kind",
    create_type=False,
)
FIRING_STATUS = postgresql.ENUM(
    "scheduled", "done", "skipped", "held", "failed", name="firing_status", create_type=False
)


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    for enum in (TOKEN_PURPOSE, TOKEN_STATUS, LINK_STATUS, AUTOMATION_KIND, FIRING_STATUS):
        sa.Enum(*enum.enums, name=enum.name).create(op.get_bind())

    # -- users: chat-only accounts and merges -------------------------------------------------
    op.add_column(
        "users",
        sa.Column("chat_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("users", sa.Column("merged_into", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_merged_into_users"), "users", "users", ["merged_into"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_users_chat_only_has_no_credentials"),
        "users",
        "NOT chat_only OR (email IS NULL AND password_hash IS NULL AND birth_date IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_users_only_chat_only_merged"), "users", "merged_into IS NULL OR chat_only"
    )

    # -- platform accounts and tokens ---------------------------------------------------------
    op.create_table(
        "platform_accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=False),
        sa.Column("login", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_platform_accounts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_accounts")),
        sa.UniqueConstraint(
            "platform",
            "platform_user_id",
            name=op.f("uq_platform_accounts_platform_platform_user_id"),
        ),
    )
    op.create_index(op.f("ix_platform_accounts_user_id"), "platform_accounts", ["user_id"])
    op.create_table(
        "platform_tokens",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("platform_account_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", TOKEN_PURPOSE, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=128)), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", TOKEN_STATUS, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_platform_tokens_version_positive")),
        sa.ForeignKeyConstraint(
            ["platform_account_id"],
            ["platform_accounts.id"],
            name=op.f("fk_platform_tokens_platform_account_id_platform_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_tokens")),
        sa.UniqueConstraint(
            "platform_account_id",
            "purpose",
            name=op.f("uq_platform_tokens_platform_account_id_purpose"),
        ),
    )
    op.create_index(
        "ix_platform_tokens_refresh_due",
        "platform_tokens",
        ["expires_at"],
        postgresql_where=sa.text("status = 'active'"),
    )

    # -- channel links: verified through OAuth, naming the platform account -------------------
    op.add_column(
        "channel_links",
        sa.Column("status", LINK_STATUS, server_default="unverified", nullable=False),
    )
    op.add_column("channel_links", sa.Column("platform_account_id", sa.BigInteger()))
    # No link was ever verified (nothing could verify one); keep any that says so unverified
    # rather than invent the account that proved it.
    op.drop_column("channel_links", "verified")
    op.create_foreign_key(
        op.f("fk_channel_links_platform_account_id_platform_accounts"),
        "channel_links",
        "platform_accounts",
        ["platform_account_id"],
        ["id"],
    )
    op.create_index(
        op.f("ix_channel_links_platform_account_id"), "channel_links", ["platform_account_id"]
    )
    op.create_check_constraint(
        op.f("ck_channel_links_verified_names_account"),
        "channel_links",
        "status = 'unverified' OR platform_account_id IS NOT NULL",
    )

    # -- automations --------------------------------------------------------------------------
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", AUTOMATION_KIND, nullable=False),
        sa.Column("template_id", sa.BigInteger(), nullable=True),
        sa.Column("delay_seconds", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("offline_action", sa.String(length=8), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "delay_seconds BETWEEN 0 AND 3600", name=op.f("ck_automation_rules_delay_in_range")
        ),
        sa.CheckConstraint(
            "(kind = 'stream_online') = (template_id IS NOT NULL)",
            name=op.f("ck_automation_rules_template_iff_online"),
        ),
        sa.CheckConstraint(
            "(kind = 'stream_offline') = (offline_action IN ('lock', 'cancel'))"
            " AND (kind = 'stream_offline' OR offline_action IS NULL)",
            name=op.f("ck_automation_rules_offline_action_iff_offline"),
        ),
        sa.CheckConstraint(
            "kind = 'stream_online' OR delay_seconds = 0",
            name=op.f("ck_automation_rules_delay_only_online"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_automation_rules_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["pool_templates.id"],
            name=op.f("fk_automation_rules_template_id_pool_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_automation_rules_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
    )
    op.create_index(op.f("ix_automation_rules_channel_id"), "automation_rules", ["channel_id"])
    op.create_table(
        "automation_firings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("occurrence", sa.String(length=160), nullable=False),
        sa.Column("status", FIRING_STATUS, nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_firings_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_automation_firings_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_firings")),
        sa.UniqueConstraint(
            "rule_id", "occurrence", name=op.f("uq_automation_firings_rule_id_occurrence")
        ),
    )
    # The sweep that re-enqueues delayed opens whose job was lost.
    op.create_index(
        "ix_automation_firings_scheduled",
        "automation_firings",
        ["created_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_table(
        "channel_streams",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_streams_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_streams")),
    )


def downgrade() -> None:
    op.drop_table("channel_streams")
    op.drop_table("automation_firings")
    op.drop_table("automation_rules")
    op.drop_constraint(op.f("ck_channel_links_verified_names_account"), "channel_links")
    op.drop_index(op.f("ix_channel_links_platform_account_id"), "channel_links")
    op.drop_constraint(
        op.f("fk_channel_links_platform_account_id_platform_accounts"), "channel_links"
    )
    op.add_column(
        "channel_links",
        sa.Column("verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.execute("UPDATE channel_links SET verified = (status <> 'unverified')")
    op.drop_column("channel_links", "platform_account_id")
    op.drop_column("channel_links", "status")
    op.drop_table("platform_tokens")
    op.drop_table("platform_accounts")
    op.drop_constraint(op.f("ck_users_only_chat_only_merged"), "users")
    op.drop_constraint(op.f("ck_users_chat_only_has_no_credentials"), "users")
    op.drop_constraint(op.f("fk_users_merged_into_users"), "users")
    op.drop_column("users", "merged_into")
    op.drop_column("users", "chat_only")
    for enum in (FIRING_STATUS, AUTOMATION_KIND, LINK_STATUS, TOKEN_STATUS, TOKEN_PURPOSE):
        op.execute(f"DROP TYPE {enum.name}")
