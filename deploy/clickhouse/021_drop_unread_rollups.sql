-- Every materialized view on check_results runs again for each block the sink inserts, and together
-- they cost the sink most of its rate (docs/benchmarks.md, "The sink at its baseline": 8 views took a
-- direct insert from ~16,000 to ~6,800 rows/s on the 18.16 server). Two of them keep tables nothing
-- reads any more: checks_daily (005; its region and type units are computed from check_results FINAL
-- since 016, their fingerprint is checks_hourly's) and seller_days (012; the same for sellers, whose
-- ranking bounds come from sellers_daily). The unit figures keep their source names
-- ('checks_daily:region', 'checks_daily:type', 'seller_days'): they label units, not tables. Dropped,
-- views first (a view whose target is gone fails every insert into check_results).
DROP TABLE IF EXISTS checks_daily_mv;

DROP TABLE IF EXISTS seller_days_mv;

DROP TABLE IF EXISTS checks_daily;

DROP TABLE IF EXISTS seller_days;
