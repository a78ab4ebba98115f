-- Rollups for dashboards and trends, kept by materialized views TO plain AggregatingMergeTree tables,
-- so no dashboard scans check_results. See docs/analytics.md for the full reasoning.
--
-- Exactness. check_results holds several rows per check (result versions, redelivered results), so
-- a count() of rows would double count. Each rollup row keeps the SET of checks of its bucket
-- (uniqExact over a 64-bit hash of check_id): a redelivered or re-versioned row adds a check that is
-- already in the set, and the count stays exact. Because every check belongs to exactly one hour
-- (its request time never changes), per-hour (per-day) counts add up exactly to days, weeks and
-- months. A check's verdict can change (pending_sync -> consistent, consistent -> voided): each set
-- answers "checks that were answered <verdict>", so such a check is in both verdicts' sets, and the
-- distinct checks of a bucket are the union over verdicts. `results` (rows) and `total_sum`
-- (价税合计 of those rows) are plain sums: where results > checks in a bucket, a check had more than
-- one row there and the reader recomputes that bucket's amount from check_results.
--
-- Days are Asia/Shanghai days (the sellers and requesters rollups); the hourly rollup is in UTC
-- hours, which map 1:1 onto Shanghai hours (UTC+8, no daylight saving).
--
-- Each view starts with the rows inserted after it was created; the INSERT ... SELECT after it fills
-- in older rows. If this migration is interrupted after a view and re-run, rows may be added twice:
-- the sets stay exact, and the results > checks test routes the amounts to check_results.
CREATE TABLE IF NOT EXISTS checks_hourly
(
    org_id String,
    hour DateTime('UTC'),
    region String,
    fplx String,
    verdict String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (org_id, hour, region, fplx, verdict);

CREATE MATERIALIZED VIEW IF NOT EXISTS checks_hourly_mv TO checks_hourly AS
SELECT
    org_id,
    toStartOfHour(requested_at) AS hour,
    if(invoice_code = '', if(length(invoice_number) = 20, concat(substring(invoice_number, 3, 2), '00'), ''), if(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4) IN ('2102', '3302', '3502', '3702', '4403'), substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), concat(substring(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), 1, 2), '00'))) AS region,
    fplx,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, hour, region, fplx, verdict;

INSERT INTO checks_hourly
SELECT
    org_id,
    toStartOfHour(requested_at) AS hour,
    if(invoice_code = '', if(length(invoice_number) = 20, concat(substring(invoice_number, 3, 2), '00'), ''), if(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4) IN ('2102', '3302', '3502', '3702', '4403'), substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), concat(substring(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), 1, 2), '00'))) AS region,
    fplx,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, hour, region, fplx, verdict;

-- Per seller (rows whose invoice was found, so the seller is known).
CREATE TABLE IF NOT EXISTS sellers_daily
(
    org_id String,
    day Date,
    seller_tax_id String,
    seller_name String,
    verdict String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, seller_tax_id, seller_name, verdict);

CREATE MATERIALIZED VIEW IF NOT EXISTS sellers_daily_mv TO sellers_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_tax_id,
    seller_name,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, day, seller_tax_id, seller_name, verdict;

INSERT INTO sellers_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_tax_id,
    seller_name,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, day, seller_tax_id, seller_name, verdict;

-- Per requester (user, system or taxpayer id that asked).
CREATE TABLE IF NOT EXISTS requesters_daily
(
    org_id String,
    day Date,
    requester String,
    verdict String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, requester, verdict);

CREATE MATERIALIZED VIEW IF NOT EXISTS requesters_daily_mv TO requesters_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, requester, verdict;

INSERT INTO requesters_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester,
    verdict,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, requester, verdict;
