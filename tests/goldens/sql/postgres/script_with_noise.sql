BEGIN;
SET search_path TO analytics;
CREATE TABLE IF NOT EXISTS analytics.a (id int);
TRUNCATE analytics.a;
INSERT INTO analytics.a SELECT id FROM raw.r;
VACUUM ANALYZE analytics.a;
COMMIT;
