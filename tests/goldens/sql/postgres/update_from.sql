UPDATE features.customer_features AS f
SET utilization = a.balance / a.credit_limit,
    risk_band = (SELECT band FROM ref.risk_bands r WHERE f.score BETWEEN r.lo AND r.hi)
FROM raw.card_accounts AS a
WHERE a.customer_id = f.customer_id
