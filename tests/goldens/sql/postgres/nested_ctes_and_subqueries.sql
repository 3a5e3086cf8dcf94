-- context: database=credit
WITH a AS (SELECT * FROM raw.customers),
     b AS (SELECT a.*, x.n FROM a JOIN (WITH inner_cte AS (SELECT * FROM raw.inquiries) SELECT customer_id, count(*) AS n FROM inner_cte GROUP BY 1) AS x USING (customer_id))
SELECT * FROM b WHERE b.customer_id IN (SELECT customer_id FROM raw.erasures)
