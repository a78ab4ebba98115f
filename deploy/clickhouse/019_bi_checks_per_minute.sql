-- Checks per minute for BI (the Superset dashboard of deploy/bi/): Superset's ClickHouse time grains
-- call dateTrunc, which 18.16 lacks, so the minute is made here. Not organisation-scoped, like the other
-- bi_* views (docs/bi.md).
CREATE VIEW IF NOT EXISTS bi_checks_per_minute AS
SELECT
    org_id,
    toStartOfMinute(requested_at) AS minute,
    count() AS checks
FROM bi_checks
GROUP BY org_id, minute;
