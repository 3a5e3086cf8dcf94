-- context: database=ANALYTICS schema=PUBLIC
CREATE OR REPLACE TABLE marts.Customer_Ltv AS
SELECT c.id, SUM(o.amount) AS ltv FROM raw.customers c JOIN "raw"."orders" o ON o.customer_id = c.id GROUP BY c.id
