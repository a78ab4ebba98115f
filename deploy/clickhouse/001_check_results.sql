-- Every result of every check. A check can have several results (pending then final, follow-ups after a
-- status change): ReplacingMergeTree keeps the highest result_version per (org_id, requested_date, check_id), and a
-- redelivered result (same check, same version) collapses into one row. Read with FINAL or argMax.
CREATE TABLE IF NOT EXISTS check_results
(
    check_id UUID,
    result_version UInt32,
    result_id UUID,
    requested_at DateTime('UTC'),
    requested_date Date,
    decided_at DateTime('UTC'),
    org_id String,
    requester String,
    channel String,
    batch_id String,
    batch_row UInt32,
    invoice_key String,
    fplx String,
    invoice_code String,
    invoice_number String,
    issue_date Date,
    verdict String,
    mismatched_fields Array(String),
    check_count UInt32,
    follow_up UInt8,
    invoice_status String,
    seller_tax_id String,
    seller_name String,
    buyer_tax_id String,
    buyer_name String,
    amount Decimal(18, 2),
    tax Decimal(18, 2),
    total Decimal(18, 2),
    message_zh String,
    message_en String,
    region_name String,
    type_name String,
    seller_division String,
    buyer_division String,
    risk_score UInt8,
    risk_severity String,
    risk_reasons Array(String),
    risk_model_score Float64,
    risk_features Array(Float64),
    risk_model_version String,
    rule_version UInt32,
    inserted_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(result_version)
PARTITION BY toYYYYMM(requested_date)
ORDER BY (org_id, requested_date, check_id);
