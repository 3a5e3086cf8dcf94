-- context: database=lake
INSERT OVERWRITE TABLE marts.daily PARTITION (dt = '2024-01-01')
SELECT user_id, count(*) FROM events WHERE dt = '2024-01-01' GROUP BY user_id
