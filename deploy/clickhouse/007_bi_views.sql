-- Documented SQL views for BI tools (Superset, Metabase, Grafana ad hoc): see docs/bi.md.
-- These views are NOT scoped to an organisation: give BI users a ClickHouse user whose row filter
-- (users.xml `<databases>` filter on 18.16, CREATE ROW POLICY on current versions) pins org_id.

-- One row per check at its newest result (FINAL), with the region of its code/number.
CREATE VIEW IF NOT EXISTS bi_checks AS
SELECT
    check_id,
    org_id,
    requested_at,
    requested_date,
    decided_at,
    requester,
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
    seller_tax_id,
    seller_name,
    buyer_tax_id,
    buyer_name,
    amount,
    tax,
    total,
    toInt64(decided_at) - toInt64(requested_at) AS latency_seconds
FROM check_results FINAL;

-- The rollups, finalised. `vkey` is a verdict, or '*' for every check (the sellers' also '!' for any
-- problem verdict: 不一致, 作废, 红冲, 异常). `checks` is exact per row; a check answered twice
-- (pending_sync then consistent, consistent then voided) is under both verdicts, so take totals from
-- vkey = '*', never by adding verdicts up. `amount` is the 价税合计 of those results.
CREATE VIEW IF NOT EXISTS bi_checks_hourly AS
SELECT
    org_id,
    hour,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM checks_hourly
GROUP BY org_id, hour, vkey;

-- Per Asia/Shanghai day and region (dimension = 'region') or invoice type (dimension = 'type').
CREATE VIEW IF NOT EXISTS bi_checks_daily AS
SELECT
    org_id,
    day,
    dimension,
    value,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM checks_daily
GROUP BY org_id, day, dimension, value, vkey;

CREATE VIEW IF NOT EXISTS bi_sellers_daily AS
SELECT
    org_id,
    day,
    seller_tax_id,
    seller_name,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM sellers_daily
GROUP BY org_id, day, seller_tax_id, seller_name, vkey;

CREATE VIEW IF NOT EXISTS bi_requesters_daily AS
SELECT
    org_id,
    day,
    requester,
    vkey,
    uniqExactMerge(checks) AS checks,
    countMerge(results) AS results,
    sumMerge(total_sum) AS amount
FROM requesters_daily
GROUP BY org_id, day, requester, vkey;

-- Risk alerts, one row per alert (FINAL collapses redelivered alerts).
CREATE VIEW IF NOT EXISTS bi_alerts AS
SELECT
    alert_id,
    check_id,
    org_id,
    invoice_key,
    seller_tax_id,
    raised_at,
    raised_date,
    score,
    severity,
    reasons,
    rule_version
FROM risk_alerts FINAL;
