INSERT INTO `proj.marts.sessions` (user_id, n)
SELECT user_id, COUNT(*) FROM `proj.raw.events` WHERE event_date = '2024-01-01' GROUP BY user_id
