-- context: database=credit schema=staging
INSERT INTO credit_inquiries (customer_id, inquiry_at)
SELECT customer_id, inquiry_at FROM raw.credit_inquiries WHERE inquiry_at > now() - interval '90 days'
