-- The BI views of the rollups (007, 010) read their units' exact figures (016) instead of the rollups'
-- states: `checks` per NEWEST verdict (so verdicts add up to the checks under '*') and `amount`, the
-- 价税合计 of those checks' newest results, each check once however often its rows were delivered.
-- The rollups' `results` (a row count that grew with every redelivery and every version) is gone.
-- Figures are those of the units computed so far: the worker's leader computes every unit of the last
-- 400 days (FAPIAO_ANALYTICS_WARM_DAYS) every FAPIAO_ANALYTICS_WARM_SECONDS (300 s), and any trend
-- the API answers computes its own, so the newest hour may lag by that much (docs/bi.md).

DROP TABLE IF EXISTS bi_checks_hourly;
DROP TABLE IF EXISTS bi_checks_daily;
DROP TABLE IF EXISTS bi_sellers_daily;
DROP TABLE IF EXISTS bi_requesters_daily;

-- Every unit's figures at its marker's fingerprint (a figure left from an older computation is not).
CREATE VIEW IF NOT EXISTS bi_unit_figures AS
SELECT org_id, source, unit, dim, vkey, checks, amount, name
FROM unit_figures FINAL
WHERE vkey != '' AND (org_id, source, unit, fingerprint) GLOBAL IN
    (SELECT org_id, source, unit, fingerprint FROM unit_figures FINAL WHERE dim = '' AND vkey = '');

CREATE VIEW IF NOT EXISTS bi_checks_hourly AS
SELECT org_id, toDateTime(unit, 'UTC') AS hour, vkey, checks, amount
FROM bi_unit_figures
WHERE source = 'checks_hourly';

-- Per Asia/Shanghai day and region (dimension = 'region') or invoice type (dimension = 'type').
CREATE VIEW IF NOT EXISTS bi_checks_daily AS
SELECT org_id, toDate(unit) AS day, substring(source, 14) AS dimension, dim AS value, vkey, checks, amount
FROM bi_unit_figures
WHERE source IN ('checks_daily:region', 'checks_daily:type');

CREATE VIEW IF NOT EXISTS bi_sellers_daily AS
SELECT org_id, toDate(unit) AS day, dim AS seller_ref, vkey, checks, amount
FROM bi_unit_figures
WHERE source = 'seller_days';

CREATE VIEW IF NOT EXISTS bi_requesters_daily AS
SELECT org_id, toDate(unit) AS day, dim AS requester_ref, vkey, checks, amount
FROM bi_unit_figures
WHERE source = 'requesters_daily';
