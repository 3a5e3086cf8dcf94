-- Quoted identifiers keep their case; unquoted ones fold to lower case in PostgreSQL.
INSERT INTO "Reporting"."AllEvents"
SELECT id FROM Raw.Web_Events
UNION ALL SELECT id FROM "Raw"."App_Events"
EXCEPT SELECT id FROM raw.bot_events
