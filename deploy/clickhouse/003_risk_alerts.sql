-- Every risk alert (topic risk.alerts), written by the worker's alert sink. alert_id is deterministic per
-- (check, result version), so a redelivered alert collapses into one row; read with FINAL.
CREATE TABLE IF NOT EXISTS risk_alerts
(
    alert_id UUID,
    check_id UUID,
    org_id String,
    invoice_key String,
    seller_tax_id String,
    raised_at DateTime('UTC'),
    raised_date Date,
    score UInt8,
    severity String,
    reasons Array(String),
    evidence_keys Array(String),
    evidence_values Array(String),
    rule_version UInt32,
    model_version String,
    inserted_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(raised_date)
ORDER BY (org_id, raised_date, alert_id);
