-- Saved custom report definitions (POST /v1/reports), per organisation. Each save writes a new row with
-- a higher version; ReplacingMergeTree keeps the newest per (org_id, report_id), and deleting writes a
-- row with deleted = 1. The table stays tiny, so reading it with FINAL costs nothing.
CREATE TABLE IF NOT EXISTS report_definitions
(
    org_id String,
    report_id UUID,
    version UInt64,
    name String,
    definition String,
    created_by String,
    created_at DateTime('UTC'),
    updated_at DateTime('UTC'),
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (org_id, report_id);
