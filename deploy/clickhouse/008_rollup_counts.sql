-- Exact check counts of rollup units (an hour of checks_hourly, a day of checks_daily, sellers_daily,
-- requesters_daily), computed from the units' check sets by the API the first time a trend needs
-- them, and reused while the unit's row count (`results`) is unchanged: a unit only ever gains rows,
-- so an equal count means an equal set. Merging sets is the expensive part of a trend (tens of
-- millions of hashes for a year); a plain read of these counts is not. `amount` is the exact 一致
-- 价税合计 of a unit whose 一致 rows outnumber its checks (recomputed from check_results), when
-- `amount_known`. `version` = results * 2 + amount_known: ReplacingMergeTree keeps the entry computed
-- from the most rows, with its amount. Partitioned by the unit's month, like the rollups (retention).
CREATE TABLE IF NOT EXISTS rollup_counts
(
    org_id String,
    source String,
    month UInt32,
    unit String,
    dim String,
    vkey String,
    results UInt64,
    checks UInt64,
    amount Decimal(18, 2),
    amount_known UInt8,
    version UInt64,
    computed_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY month
ORDER BY (org_id, source, unit, dim, vkey);
