-- A CTE named like a real table: inside its own body the name is the real table.
WITH orders AS (SELECT * FROM orders WHERE status = 'paid')
SELECT o.id, c.name FROM orders AS o JOIN customers AS c ON c.id = o.customer_id
