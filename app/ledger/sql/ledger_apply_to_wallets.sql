-- Cached wallet balances follow the entries, set-based, locking wallets in id order so that
-- transactions touching several wallets cannot deadlock. The wallet's CHECK (balance >= 0)
-- turns an overdraft into an error. A join, not IN (subquery): a transition table has no
-- statistics, and a subplan per account row would be quadratic for large settlements.
CREATE OR REPLACE FUNCTION ledger_apply_to_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts AS a
    JOIN (SELECT DISTINCT account_id FROM new_entries) AS touched ON touched.account_id = a.id
    WHERE a.balance IS NOT NULL
    ORDER BY a.id FOR NO KEY UPDATE OF a;
    UPDATE accounts AS a SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM new_entries GROUP BY account_id) AS d
    WHERE a.id = d.account_id AND a.balance IS NOT NULL;
    RETURN NULL;
END $$;
