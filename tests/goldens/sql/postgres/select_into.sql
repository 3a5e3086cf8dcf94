SELECT * INTO TEMP recent_scores FROM ml.credit_scores WHERE scored_at > now() - interval '1 day'
