-- The database work of one bet, as plain statements: claim the idempotent placement,
-- share-lock the pool's terms, check the outcome, find the wallet, open or add to the position,
-- write the ledger transaction and its two entries (the wallet trigger debits the cached
-- balance), read the balance back, complete the placement. The same rows, locks and triggers
-- as a bet placed through the service. Run with -M prepared, as asyncpg prepares statements.
-- Variables from -D: first_user, bettors, first_pool, pools, first_outcome.
\set n random(0, :bettors - 1)
\set uid :first_user + :n
\set k random(0, :pools - 1)
\set pool :first_pool + :k
\set outcome :first_outcome + 2 * :k + :n % 2
BEGIN;
INSERT INTO bet_placements (user_id, idempotency_key, fingerprint, pool_id, amount)
  VALUES (:uid, 'pgbench-' || gen_random_uuid(),
    sha256(convert_to(:pool || ':' || :outcome || ':1', 'UTF8')), :pool, 1)
  ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id AS placement
\gset
SELECT id, channel_id, status, currency, min_stake, max_stake, escrow_account_id AS escrow,
  closes_at IS NOT NULL AND closes_at <= now() AS past_close
  FROM pools WHERE id = :pool FOR SHARE
\gset
SELECT 1 FROM pool_outcomes WHERE id = :outcome AND pool_id = :pool;
SELECT id AS wallet FROM accounts WHERE kind = 'user_wallet' AND currency = :currency
  AND user_id IS NOT DISTINCT FROM CAST(:uid AS bigint)
  AND ref_id IS NOT DISTINCT FROM CAST(NULL AS bigint)
\gset
INSERT INTO bets (pool_id, user_id, outcome_id, wallet_account_id, amount)
  VALUES (:pool, :uid, :outcome, :wallet, 1)
  ON CONFLICT (pool_id, user_id) DO UPDATE
  SET amount = bets.amount + EXCLUDED.amount, updated_at = now()
  WHERE bets.outcome_id = EXCLUDED.outcome_id
  RETURNING id AS bet, outcome_id AS bet_outcome, amount AS position
\gset
INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint, memo)
  VALUES ('bet:' || :placement, 'bet', sha256(convert_to('bet:' || :placement, 'UTF8')),
    jsonb_build_object('pool_id', CAST(:pool AS bigint), 'bet_id', CAST(:bet AS bigint)))
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING id AS tx
\gset
SELECT id FROM accounts WHERE id = ANY(ARRAY[CAST(:wallet AS bigint)]) AND frozen;
INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)
  SELECT :tx, account_id, currency, amount FROM unnest(
    ARRAY[CAST(:wallet AS bigint), CAST(:escrow AS bigint)],
    ARRAY[CAST(:currency AS text), CAST(:currency AS text)],
    ARRAY[CAST(-1 AS bigint), CAST(1 AS bigint)]) AS p(account_id, currency, amount);
SELECT id, user_id, currency, balance FROM accounts
  WHERE id = ANY(ARRAY[CAST(:wallet AS bigint), CAST(:escrow AS bigint)]) AND balance IS NOT NULL
\gset
UPDATE bet_placements SET bet_id = :bet, position_amount = :position, balance_after = :balance
  WHERE id = :placement;
COMMIT;
