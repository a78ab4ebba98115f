-- A lookup table for the history's invoice-number filter. ClickHouse 18.16 has no data-skipping
-- indexes, so a filter on a column outside check_results' key (org_id, requested_date, check_id) reads that column
-- over the whole range (~0.4 s for a year of 10M). This table is the same checks ordered by invoice
-- number: the history reads a few (requested_at, check_id) from it, newest first, then only those checks
-- from check_results (each at its newest result, the filters applied to it): fapiao/analytics/lookups.py.
--
-- Exactness: every result row of a check is written (materialized views see each insert), so a
-- redelivered or re-versioned result writes a row the ReplacingMergeTree collapses (readers also
-- GROUP BY until it does); the invoice number and code are the same in every result of a check.
-- Partitioned by month like check_results, so retention drops them together. The INSERT ... SELECT
-- after the view adds the rows written before it (an interrupted re-run only adds rows that collapse).
CREATE TABLE IF NOT EXISTS check_numbers
(
    org_id String,
    invoice_number String,
    invoice_code String,
    requested_at DateTime('UTC'),
    requested_date Date,
    check_id UUID
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(requested_date)
ORDER BY (org_id, invoice_number, invoice_code, requested_at, check_id)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS check_numbers_mv TO check_numbers AS
SELECT org_id, invoice_number, invoice_code, requested_at, requested_date, check_id
FROM check_results;

INSERT INTO check_numbers
SELECT org_id, invoice_number, invoice_code, requested_at, requested_date, check_id
FROM check_results;
