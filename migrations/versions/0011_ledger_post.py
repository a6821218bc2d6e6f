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

# Installed in this order (functions before the triggers and functions that use them), each
# with the digest of the text this migration was written for (see app/kit/sql_source.py).
SOURCES = {
    "app/ledger/sql/currency_is_cash.sql": "43aec4139805e22a",
    "app/ledger/sql/ledger_refuse_change.sql": "42077b38a1541f34",
    "app/ledger/sql/ledger_check_balanced.sql": "d1abe1083b135af8",
    "app/ledger/sql/ledger_apply_to_wallets.sql": "86cfaadd199c4b87",
    "app/ledger/sql/ledger_fingerprint.sql": "36ea43b8c42e8815",
    "app/ledger/sql/ledger_postings_text.sql": "91eabaa626abe858",
    "app/ledger/sql/ledger_transfer_postings_text.sql": "cd8a8d9bf96f7f65",
    "app/ledger/sql/ledger_post.sql": "0bf3a813442bf8fc",
    "app/ledger/sql/ledger_post_staged.sql": "f40a6007174bb44d",
    "app/ledger/sql/triggers.sql": "c929e10c9d4864fe",
    "app/chat/sql/chat_moderation_append_only.sql": "ef90c558e9be6bf8",
    "app/chat/sql/triggers.sql": "77bb079357b7180b",
    "app/channel/sql/points_grants_append_only.sql": "63f158f248848291",
    "app/channel/sql/triggers.sql": "d11075b4d6924b32",
    "app/pool/sql/place_bet_replay.sql": "04d3b847f0eaf593",
    "app/pool/sql/place_bet.sql": "4d1fe334f89bb445",
    "app/pool/sql/place_bets.sql": "0ff6777f6142b68c",
}

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
    install(op.execute, SOURCES)
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
