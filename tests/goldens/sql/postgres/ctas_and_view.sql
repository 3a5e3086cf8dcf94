-- context: database=credit
CREATE TABLE ml.training_set AS SELECT f.*, o.label FROM features.customer_features f JOIN raw.outcomes o USING (customer_id);
CREATE OR REPLACE VIEW reporting.decisions AS SELECT * FROM ml.credit_scores;
CREATE MATERIALIZED VIEW reporting.daily AS SELECT date_trunc('day', scored_at) d, count(*) FROM ml.credit_scores GROUP BY 1;
