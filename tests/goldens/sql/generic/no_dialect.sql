insert into target_table select a.x, b.y from schema_a.a a join b on a.id = b.id
