SELECT g.n, e.id
FROM generate_series(1, 10) AS g(n)
CROSS JOIN LATERAL (SELECT id FROM events.clicks WHERE day = g.n) AS e
CROSS JOIN unnest(ARRAY[1, 2]) AS u(x)
