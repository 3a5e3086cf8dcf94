DELETE FROM staging.customers AS s USING raw.erasure_requests AS e WHERE s.customer_id = e.customer_id
