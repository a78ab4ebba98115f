-- Ground truth of the demo feed's injected cases, for evaluating scoring. Never read by the pipeline.
CREATE TABLE IF NOT EXISTS demo_labels
(
    check_id UUID,
    label String,
    invoice_key String,
    labelled_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY check_id;
