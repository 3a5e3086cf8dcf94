MERGE INTO staging.payment_history AS h
USING (SELECT account_id, max(paid_at) AS last_paid FROM raw.payments GROUP BY account_id) AS p
ON h.account_id = p.account_id
WHEN MATCHED THEN UPDATE SET last_paid = p.last_paid
WHEN NOT MATCHED THEN INSERT (account_id, last_paid) VALUES (p.account_id, p.last_paid)
