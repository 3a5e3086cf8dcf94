-- context: database=shop
INSERT INTO shop_reporting.daily_sales (day, total)
SELECT DATE(o.created_at), SUM(o.amount) FROM orders o JOIN `Shop`.`Customers` c ON c.id = o.customer_id
GROUP BY DATE(o.created_at)
