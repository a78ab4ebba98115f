-- Batch jobs (POST /v1/batches): one row per batch, rewritten as it progresses (receiving -> accepted);
-- ReplacingMergeTree keeps the highest version per (org_id, batch_id). Read with FINAL.
CREATE TABLE IF NOT EXISTS batches
(
    org_id String,
    batch_id String,
    version UInt32,
    state String,
    kind String,
    file_name String,
    requester String,
    total_rows UInt32,
    accepted UInt32,
    rejected UInt32,
    created_at DateTime('UTC'),
    updated_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (org_id, batch_id);

-- Every input row or document of a batch, in input order: what it asked (as text), its check id when
-- accepted, and the problems (field, code, messages) when rejected. Results are in check_results.
CREATE TABLE IF NOT EXISTS batch_items
(
    org_id String,
    batch_id String,
    batch_row UInt32,
    line UInt32,
    source_name String,
    check_id String,
    invoice_code String,
    invoice_number String,
    issue_date String,
    amount String,
    check_code String,
    problem_fields Array(String),
    problem_codes Array(String),
    problem_messages_zh Array(String),
    problem_messages_en Array(String),
    created_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(created_at)
ORDER BY (org_id, batch_id, batch_row);
