WITH RECURSIVE chain AS (
  SELECT id, parent_id FROM org.units WHERE parent_id IS NULL
  UNION ALL
  SELECT u.id, u.parent_id FROM org.units AS u JOIN chain AS c ON u.parent_id = c.id
)
INSERT INTO org.unit_paths SELECT * FROM chain
