-- Result rows per seller and Shanghai month, for RANKING sellers only (top sellers, riskiest-seller
-- candidates): plain sums over a few rows per seller, where sellers_daily has a set per seller and
-- day (as many rows as checks when sellers are many). Row counts include redelivered and re-versioned
-- results, which can tip an order but never a number shown: the counts shown come from the sets.
CREATE TABLE IF NOT EXISTS sellers_monthly
(
    org_id String,
    month UInt32,
    seller_tax_id String,
    seller_name String,
    results UInt64,
    problem_results UInt64
)
ENGINE = SummingMergeTree()
PARTITION BY month
ORDER BY (org_id, month, seller_tax_id, seller_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS sellers_monthly_mv TO sellers_monthly AS
SELECT
    org_id,
    toYYYYMM(toDate(requested_at, 'Asia/Shanghai')) AS month,
    seller_tax_id,
    seller_name,
    count() AS results,
    countIf(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal')) AS problem_results
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, month, seller_tax_id, seller_name;

INSERT INTO sellers_monthly
SELECT
    org_id,
    toYYYYMM(toDate(requested_at, 'Asia/Shanghai')) AS month,
    seller_tax_id,
    seller_name,
    count() AS results,
    countIf(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal')) AS problem_results
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, month, seller_tax_id, seller_name;
