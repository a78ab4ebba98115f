-- 国密 field encryption (docs/security.md): results and alerts arrive sealed from the worker. Taxpayer
-- ids, names, addresses, bank accounts and requesters rest as SM4-GCM envelopes (`*_sealed`, opened only
-- by the API for the owning organisation), and analytics group and filter by keyed HMAC-SM3 pseudonyms
-- (`*_ref`). The plaintext columns stay (18.16 has no DROP/RENAME of key-less columns we could rely on
-- across versions) but are written empty; rows stored before this migration keep their plaintext until
-- re-sealed, and stay out of the seller/requester rollups (they have no pseudonym).
--
-- 18.16: ADD COLUMN has no IF NOT EXISTS, so one column per statement; the migration runner skips an
-- ADD COLUMN whose column already exists (a re-run after an interruption). A materialized view cannot be
-- altered: the views over seller/buyer/requester columns are dropped and created again on the
-- pseudonyms, their target tables too (the ORDER BY changes), then refilled from check_results.
ALTER TABLE check_results ADD COLUMN seller_ref String;
ALTER TABLE check_results ADD COLUMN seller_sealed String;
ALTER TABLE check_results ADD COLUMN buyer_ref String;
ALTER TABLE check_results ADD COLUMN buyer_sealed String;
ALTER TABLE check_results ADD COLUMN requester_ref String;
ALTER TABLE check_results ADD COLUMN requester_sealed String;
ALTER TABLE risk_alerts ADD COLUMN seller_ref String;
ALTER TABLE risk_alerts ADD COLUMN seller_sealed String;

DROP TABLE IF EXISTS sellers_daily_mv;
DROP TABLE IF EXISTS sellers_monthly_mv;
DROP TABLE IF EXISTS requesters_daily_mv;
DROP TABLE IF EXISTS bi_checks;
DROP TABLE IF EXISTS bi_sellers_daily;
DROP TABLE IF EXISTS bi_requesters_daily;
DROP TABLE IF EXISTS bi_alerts;
DROP TABLE IF EXISTS sellers_daily;
DROP TABLE IF EXISTS sellers_monthly;
DROP TABLE IF EXISTS requesters_daily;

-- Per seller pseudonym and Shanghai day (as in 005). `seller_sealed` is any envelope of the seller (read
-- with anyMerge; a plain column outside the key is refused by current versions): the envelope is bound
-- to (role, pseudonym) only, so any one opens to the seller's name for a label.
CREATE TABLE IF NOT EXISTS sellers_daily
(
    org_id String,
    day Date,
    seller_ref String,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2)),
    seller_sealed AggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, seller_ref, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS sellers_daily_mv TO sellers_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_ref,
    arrayJoin(if(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal'), [verdict, '*', '!'], [verdict, '*'])) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum,
    anyState(seller_sealed) AS seller_sealed
FROM check_results
WHERE seller_ref != ''
GROUP BY org_id, day, seller_ref, vkey;

INSERT INTO sellers_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    seller_ref,
    arrayJoin(if(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal'), [verdict, '*', '!'], [verdict, '*'])) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum,
    anyState(seller_sealed) AS seller_sealed
FROM check_results
WHERE seller_ref != ''
GROUP BY org_id, day, seller_ref, vkey;

-- Result rows per seller pseudonym and Shanghai month, for ranking (as in 009).
CREATE TABLE IF NOT EXISTS sellers_monthly
(
    org_id String,
    month UInt32,
    seller_ref String,
    results UInt64,
    problem_results UInt64,
    seller_sealed AggregateFunction(any, String)
)
ENGINE = SummingMergeTree((results, problem_results))
PARTITION BY month
ORDER BY (org_id, month, seller_ref);

CREATE MATERIALIZED VIEW IF NOT EXISTS sellers_monthly_mv TO sellers_monthly AS
SELECT
    org_id,
    toYYYYMM(toDate(requested_at, 'Asia/Shanghai')) AS month,
    seller_ref,
    count() AS results,
    countIf(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal')) AS problem_results,
    anyState(seller_sealed) AS seller_sealed
FROM check_results
WHERE seller_ref != ''
GROUP BY org_id, month, seller_ref;

INSERT INTO sellers_monthly
SELECT
    org_id,
    toYYYYMM(toDate(requested_at, 'Asia/Shanghai')) AS month,
    seller_ref,
    count() AS results,
    countIf(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal')) AS problem_results,
    anyState(seller_sealed) AS seller_sealed
FROM check_results
WHERE seller_ref != ''
GROUP BY org_id, month, seller_ref;

-- Per requester pseudonym (as in 005).
CREATE TABLE IF NOT EXISTS requesters_daily
(
    org_id String,
    day Date,
    requester_ref String,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2)),
    requester_sealed AggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, day, requester_ref, vkey);

CREATE MATERIALIZED VIEW IF NOT EXISTS requesters_daily_mv TO requesters_daily AS
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester_ref,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum,
    anyState(requester_sealed) AS requester_sealed
FROM check_results
WHERE requester_ref != ''
GROUP BY org_id, day, requester_ref, vkey;

INSERT INTO requesters_daily
SELECT
    org_id,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    requester_ref,
    arrayJoin([verdict, '*']) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum,
    anyState(requester_sealed) AS requester_sealed
FROM check_results
WHERE requester_ref != ''
GROUP BY org_id, day, requester_ref, vkey;

-- BI views (as in 007) on pseudonyms: BI users see who is who only as stable pseudonyms, never names.
CREATE VIEW IF NOT EXISTS bi_checks AS
SELECT
    check_id,
    org_id,
    requested_at,
    requested_date,
    decided_at,
    requester_ref,
    channel,
    batch_id,
    if(invoice_code = '', if(length(invoice_number) = 20, concat(substring(invoice_number, 3, 2), '00'), ''), if(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4) IN ('2102', '3302', '3502', '3702', '4403'), substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), concat(substring(substring(invoice_code, if(length(invoice_code) = 12, 2, 1), 4), 1, 2), '00'))) AS region,
    fplx,
    invoice_code,
    invoice_number,
    issue_date,
    verdict,
    result_version,
    follow_up,
    check_count,
    invoice_status,
    seller_ref,
    buyer_ref,
    amount,
    tax,
    total,
    toInt64(decided_at) - toInt64(requested_at) AS latency_seconds
FROM check_results FINAL;

CREATE VIEW IF NOT EXISTS bi_sellers_daily AS
SELECT
    org_id,
    day,
    seller_ref,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM sellers_daily
GROUP BY org_id, day, seller_ref, vkey;

CREATE VIEW IF NOT EXISTS bi_requesters_daily AS
SELECT
    org_id,
    day,
    requester_ref,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM requesters_daily
GROUP BY org_id, day, requester_ref, vkey;

CREATE VIEW IF NOT EXISTS bi_alerts AS
SELECT
    alert_id,
    check_id,
    org_id,
    invoice_key,
    seller_ref,
    raised_at,
    raised_date,
    score,
    severity,
    reasons,
    rule_version
FROM risk_alerts FINAL;
