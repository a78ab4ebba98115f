-- Exact figures of rollup units, which every trend, ranking and report reads (issue 15). The rollups'
-- plain row counts and sums (005, 009, 010) grow with every inserted row: a result redelivered after
-- a crash (at-least-once; materialized views fire per inserted block, so its copy is counted again)
-- and every newer version of a check (pending -> 一致, 一致 -> 作废, a refresh). After kill -9 runs
-- their `results` and `total_sum` were ~2.3x, and the top sellers/requesters were ranked by them.
--
-- A unit is an hour (source checks_hourly: totals, verdicts) or an Asia/Shanghai day (checks_daily:
-- region / checks_daily:type, seller_days, requesters_daily) of one organisation. Its figures, per
-- dimension value (`dim`; 'all' for totals) and `vkey` (the NEWEST verdict, '*' every check, '!' a
-- problem verdict for sellers), are `checks` and `amount` (their 价税合计), computed from
-- check_results FINAL — each check once, at its newest result; a check belongs to one unit, so
-- units add up into days, weeks and months — by fapiao/warehouse/trends.py, for the units whose
-- fingerprint changed: the unit's result rows in checks_hourly (vkey '*'), which every inserted row
-- (new, redelivered or re-versioned) increments. A marker row (dim '', vkey '') per computed unit holds
-- the fingerprint it was computed at; readers keep a unit's figures at its marker's fingerprint only.
-- `name`: any envelope of the seller or requester (labels). ReplacingMergeTree(computed_at): the
-- latest computation wins, and if it was computed at an older fingerprint than another (a slow
-- concurrent one), or the fingerprint went down (a retention drop of the month before a Shanghai
-- day's first hours), the marker differs from the current fingerprint and the unit is computed again.
-- Partitioned by the unit's month like the rollups, so retention drops them together. Ordered by
-- vkey and dimension value before unit: a source's markers (vkey '') are one short range, a top-10
-- seller trend reads its ten sellers' rows, and a full ranking reads the '*' (or '!') rows of its months.
--
-- Replaces rollup_counts (008), whose remembered set counts kept the "answered so" semantics (a check
-- voided after 一致 counted in both) and whose amounts were plain sums: dropped. Nothing to backfill:
-- the first trend (or `fapiao db warm-counts`, or the worker leader's warming pass) computes the units.
CREATE TABLE IF NOT EXISTS unit_figures
(
    org_id String,
    source String,
    month UInt32,
    unit String,
    dim String,
    vkey String,
    fingerprint UInt64,
    checks UInt64,
    amount Decimal(18, 2),
    name String,
    computed_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY month
ORDER BY (org_id, source, vkey, dim, unit)
SETTINGS index_granularity = 1024;

DROP TABLE IF EXISTS rollup_counts;
