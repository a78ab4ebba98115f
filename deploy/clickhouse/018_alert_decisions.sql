-- Analysts' decisions on risk alerts (人工复核, the alert cases of the API), written by the API each time
-- a case is decided or reopened. They are the labels `fapiao model train` / `evaluate` read: see
-- /work/coord/labels.md and docs/cases.md. One row per (alert, version): `version` counts the case's
-- decisions, so FINAL keeps the newest decision of each alert; a case taken back to review writes
-- decision = 'reopened' (no label). decided_by is the analyst's user id.
CREATE TABLE IF NOT EXISTS alert_decisions
(
    org_id String,
    alert_id UUID,
    check_id UUID,
    invoice_key String,
    decision String,
    decided_by String,
    decided_at DateTime('UTC'),
    version UInt32,
    reasons Array(String),
    inserted_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (org_id, alert_id);
