-- Sellers and buyers by pseudonym (migration 010: `seller_ref`, `buyer_ref`, HMAC-SM3 of the tax id),
-- ordered for the two reads that need ONE party's checks: the history filtered by a seller or buyer,
-- and seller trends of the top N sellers. The tables before (check_results, sellers_daily) start their
-- keys with the date, so a seller's checks over a year meant reading the whole year (18.16 has no
-- data-skipping indexes). The reasoning and measurements: docs/analytics.md. Granules of 1,024 rows
-- (011's lookup too): one party's rows are a granule or two per part, and 8,192-row granules made a
-- top-10 seller trend read ~1M rows of 200-byte seller envelopes, a seller's history ~600k lookup rows.

-- Every check with a result naming the party (rows without a pseudonym skipped): a superset of the
-- checks whose NEWEST result names it (a party can first appear in a later result), which the history
-- narrows after reading the candidates' newest results (fapiao/analytics/lookups.py). Redelivered and
-- re-versioned results write rows the ReplacingMergeTree collapses; readers GROUP BY until it does.
CREATE TABLE IF NOT EXISTS check_parties
(
    org_id String,
    party String,
    ref String,
    requested_at DateTime('UTC'),
    requested_date Date,
    check_id UUID
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(requested_date)
ORDER BY (org_id, party, ref, requested_at, check_id)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS check_parties_mv TO check_parties AS
SELECT org_id, tupleElement(p, 1) AS party, tupleElement(p, 2) AS ref, requested_at, requested_date, check_id
FROM check_results
ARRAY JOIN [('seller', seller_ref), ('buyer', buyer_ref)] AS p
WHERE ref != '';

INSERT INTO check_parties
SELECT org_id, tupleElement(p, 1) AS party, tupleElement(p, 2) AS ref, requested_at, requested_date, check_id
FROM check_results
ARRAY JOIN [('seller', seller_ref), ('buyer', buyer_ref)] AS p
WHERE ref != '';

-- sellers_daily (010) again, ordered by seller first: the same sets per seller, Shanghai day and vkey,
-- so a top-10 seller trend reads the ten sellers' rows, not every seller's. Seller trends and the
-- riskiest sellers' exact counts read it; sellers_daily stays for the BI view bi_sellers_daily.
CREATE TABLE IF NOT EXISTS seller_days
(
    org_id String,
    seller_ref String,
    day Date,
    vkey String,
    checks AggregateFunction(uniqExact, UInt64),
    results AggregateFunction(count),
    total_sum AggregateFunction(sum, Decimal(18, 2)),
    seller_sealed AggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (org_id, seller_ref, day, vkey)
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS seller_days_mv TO seller_days AS
SELECT
    org_id,
    seller_ref,
    toDate(requested_at, 'Asia/Shanghai') AS day,
    arrayJoin(if(verdict IN ('inconsistent', 'voided', 'red_flushed_partial', 'red_flushed_full', 'abnormal'), [verdict, '*', '!'], [verdict, '*'])) AS vkey,
    uniqExactState(cityHash64(toString(check_id))) AS checks,
    countState() AS results,
    sumState(total) AS total_sum,
    anyState(seller_sealed) AS seller_sealed
FROM check_results
WHERE seller_ref != ''
GROUP BY org_id, seller_ref, day, vkey;

-- the rows before the view: copied from sellers_daily (same states), not recomputed. Rows arriving
-- during the migration (or an interrupted re-run) may be copied twice: the sets stay exact, and a
-- unit whose 一致 rows then outnumber its checks has its amount recomputed (as in 005).
INSERT INTO seller_days (org_id, seller_ref, day, vkey, checks, results, total_sum, seller_sealed)
SELECT org_id, seller_ref, day, vkey, checks, results, total_sum, seller_sealed
FROM sellers_daily;
