-- context: database=shop
UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.vip = c.vip WHERE c.country = 'DE'
