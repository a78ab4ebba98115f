-- bi_unit_figures (017) kept every figure at its unit's marker's fingerprint; two computations at one
-- fingerprint need not agree (check_results commits before checks_hourly, which the fingerprint
-- counts), and a (dim, vkey) of the earlier one that the later one lacks (a check's 一致 before its
-- 作废) stayed counted next to the later one's figures. A unit's figures are now those of its
-- marker's own computation: its fingerprint and computed_at (which fapiao.warehouse.trends writes
-- once per computation, the server's clock when it began), as fapiao.analytics.units.valid_figures.
DROP TABLE IF EXISTS bi_unit_figures;

CREATE VIEW IF NOT EXISTS bi_unit_figures AS
SELECT org_id, source, unit, dim, vkey, checks, amount, name
FROM unit_figures FINAL
WHERE vkey != '' AND (org_id, source, unit, fingerprint, computed_at) GLOBAL IN
    (SELECT org_id, source, unit, fingerprint, computed_at FROM unit_figures FINAL WHERE dim = '' AND vkey = '');
