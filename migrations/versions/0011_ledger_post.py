"""One way to post to the ledger; SQL functions and triggers from source files

``ledger_post()`` (one transaction) and ``ledger_post_staged()`` (many, set-based) are the only
writers of ledger transactions: the ledger service, settlement and ``place_bet()`` call them.
One fingerprint scheme (``ledger_fingerprint()``) replaces the three there were (the service's
JSON of the postings, settlement's ``prefix:ref:account:amount``, the bet's
``bet:wallet:escrow:amount:bet``). It covers only what the ledger stores (kind, memo, entries),
so every existing transaction's fingerprint is recomputed here: a retry of a transaction
posted before this migration is recognised as the same one, and a reused key is still refused.

From here on, functions and triggers live in ``app/<domain>/sql/*.sql`` (see
``app/kit/sql_source.py``); this migration installs all of them as they are now. A later
change to a file needs a new migration that installs it again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from app.kit.sql_source import install

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCES = (
    "app/ledger/sql/currency_is_cash.sql",
    "app/ledger/sql/ledger_refuse_change.sql",
    "app/ledger/sql/ledger_check_balanced.sql",
    "app/ledger/sql/ledger_apply_to_wallets.sql",
    "app/ledger/sql/ledger_fingerprint.sql",
    "app/ledger/sql/ledger_postings_text.sql",
    "app/ledger/sql/ledger_transfer_postings_text.sql",
    "app/ledger/sql/ledger_post.sql",
    "app/ledger/sql/ledger_post_staged.sql",
    "app/ledger/sql/triggers.sql",
    "app/chat/sql/chat_moderation_append_only.sql",
    "app/chat/sql/triggers.sql",
    "app/channel/sql/points_grants_append_only.sql",
    "app/channel/sql/triggers.sql",
    "app/pool/sql/place_bet_replay.sql",
    "app/pool/sql/place_bet.sql",
    "app/pool/sql/place_bets.sql",
)

# The stored fingerprints, recomputed with the one scheme from what each transaction stored.
REFINGERPRINT = (
    "ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only",
    """
    UPDATE ledger_transactions AS t
       SET fingerprint = ledger_fingerprint(t.kind, t.memo, e.postings)
      FROM (SELECT transaction_id,
                   ledger_postings_text(array_agg(account_id), array_agg(currency),
                                        array_agg(amount)) AS postings
              FROM ledger_entries GROUP BY transaction_id) AS e
     WHERE e.transaction_id = t.id
    """,
    "ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_append_only",
)

NEW_FUNCTIONS = (
    "ledger_post_staged(text, transaction_kind, jsonb, text, bigint, text)",
    "ledger_post(text, transaction_kind, jsonb, bigint[], text[], bigint[], boolean)",
    "ledger_transfer_postings_text(bigint, bigint, text, bigint)",
    "ledger_postings_text(bigint[], text[], bigint[])",
    "ledger_fingerprint(transaction_kind, jsonb, text)",
    "currency_is_cash(text)",
)


def upgrade() -> None:
    install(op.execute, *SOURCES)
    for statement in REFINGERPRINT:
        op.execute(statement)


def _revision(filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(filename, Path(__file__).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    # The bet functions as 0006 and 0007 wrote them. Fingerprints keep the new scheme: the
    # older ones cannot be told from what the ledger stores.
    op.execute("DROP FUNCTION place_bets(bigint[], text[], bytea[], bigint[], bigint[], bigint[])")
    op.execute("DROP FUNCTION place_bet(bigint, text, bytea, bigint, bigint, bigint, boolean)")
    op.execute("DROP FUNCTION place_bet_replay(bigint, text, bytea)")
    place_bet, place_bets = (
        _revision("0006_place_bet_function.py"),
        _revision("0007_place_bets_batch.py"),
    )
    op.execute(place_bet.REPLAY)
    op.execute(place_bet.PLACE_BET)
    op.execute(place_bets.PLACE_BETS)
    for function in NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
