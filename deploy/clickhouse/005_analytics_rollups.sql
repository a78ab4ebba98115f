-- Rollups for dashboards and trends, kept by materialized views TO AggregatingMergeTree tables, so
-- no dashboard scans check_results. The reasoning, measurements and limits: docs/analytics.md.
--
-- Exactness. check_results holds several rows per check (result versions, redelivered results), so a
-- count() of rows would double count. Each rollup row keeps the SET of its checks (uniqExact over a
-- 64-bit hash of check_id): a redelivered or re-versioned row adds a check the set already has. A check
-- belongs to one hour (its request time never changes), so per-hour or per-day counts add up exactly
-- into days, weeks and months.
--
-- vkey. Every result row is counted under its verdict and under '*' (every check), and in the sellers
-- rollup also under '!' (a problem verdict: 不一致, 作废, 红冲, 异常). So "checks" is one set per unit,
-- not a union over verdicts at query time. A check whose verdict changed (pending_sync -> consistent,
-- consistent -> voided) is in both verdicts' sets: each verdict counts the checks that were answered so.
--
-- `results` (rows) and `total_sum` (价税合计 of those rows) are plain sums; where results > checks
-- under vkey 'consistent', a check had two 一致 rows there and the reader recomputes that unit's amount
-- from check_results.
--
-- Days are Asia/Shanghai days; the hourly rollup is in UTC hours, which map 1:1 onto Shanghai hours.
-- Each view starts with rows inserted after its creation; the INSERT ... SELECT after it adds the older
-- rows. Re-running an interrupted migration may add rows twice: the sets stay exact, and the
-- results > checks test routes the amounts to check_results.
CREATE TABLE IF NOT EXISTS checks_hourly
(
    org_id String,
    hour DateTime('UTC'),
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (org_id, hour, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS checks_hourly_mv TO checks_hourly AS
SELECT
    org_id,
    toStartOfHour(requested_at) AS hour,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, hour, vkey;

INSERT INTO checks_hourly
SELECT
    org_id,
    toStartOfHour(requested_at) AS hour,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, hour, vkey;

-- Per Shanghai day and region (4-digit, from the code or the 数电 number) or invoice type (fplx).
CREATE TABLE IF NOT EXISTS checks_daily
(
    org_id String,
    day Date,
    dimension String,
    value String,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, dimension, day, value, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS checks_daily_mv TO checks_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    arrayJoin(['region', 'type']) AS dimension,
    if(dimension = 'region', if(invoice_code = '', if(length(invoice_number) = 20, concat(substring(invoice_number, 3, 2), '00'), ''), if(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4) IN ('2102', '3302', '3502', '3702', '4403'), substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), concat(substring(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), 1, 2), '00'))), fplx) AS value,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, dimension, value, vkey;

INSERT INTO checks_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    arrayJoin(['region', 'type']) AS dimension,
    if(dimension = 'region', if(invoice_code = '', if(length(invoice_number) = 20, concat(substring(invoice_number, 3, 2), '00'), ''), if(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4) IN ('2102', '3302', '3502', '3702', '4403'), substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), concat(substring(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), 1, 2), '00'))), fplx) AS value,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, dimension, value, vkey;

-- Per seller (rows whose invoice was found, so the seller is known).
CREATE TABLE IF NOT EXISTS sellers_daily
(
    org_id String,
    day Date,
    seller_tax_id String,
    seller_name String,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, seller_tax_id, seller_name, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS sellers_daily_mv TO sellers_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_tax_id,
    seller_name,
    arrayJoin(if(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal'), [verdict, '*', '!'], [verdict, '*'])) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, day, seller_tax_id, seller_name, vkey;

INSERT INTO sellers_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_tax_id,
    seller_name,
    arrayJoin(if(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal'), [verdict, '*', '!'], [verdict, '*'])) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
WHERE seller_name != ''
GROUP BY org_id, day, seller_tax_id, seller_name, vkey;

-- Per requester (the user, system or taxpayer id that asked).
CREATE TABLE IF NOT EXISTS requesters_daily
(
    org_id String,
    day Date,
    requester String,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, requester, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS requesters_daily_mv TO requesters_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, requester, vkey;

INSERT INTO requesters_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum
FROM check_results
GROUP BY org_id, day, requester, vkey;
