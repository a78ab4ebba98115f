-- The history's rows by party. check_parties (012) named the candidate checks of a seller or buyer,
-- but their rows then came from check_results, whose 8,192-row granules are wide since 010 (three
-- ~200-byte envelopes a row): a page read a granule of every column per candidate, 300-640 ms for a
-- seller's year of 10M rows; and a page sorted by 价税合计 read one such granule per row shown.
-- This table is a copy of every column the history selects and filters on, one row per party a
-- result names (a result naming neither: one row under party '' and pseudonym ''), ordered by
-- (organisation, party, pseudonym, request time, check id) in granules of 256 rows: a party's
-- checks are a short contiguous range, and any result row is found by key reading ~256 rows.
-- fapiao/analytics/lookups.py takes a page's candidates from here (a seller or buyer) or from
-- check_results' narrow columns (other sorts), keeps those that are their check's newest result
-- (versions read from check_results), then reads the kept rows' columns here, by key. Reasoning
-- and measurements: docs/analytics.md, docs/benchmarks.md.
--
-- Every result row writes its rows here (materialized view); ReplacingMergeTree(result_version)
-- keeps, per party and check, the newest result naming that party, and redelivered rows collapse;
-- readers use FINAL. Partitioned by month like check_results, so retention drops them together.
-- The INSERT … SELECT after the view adds the rows written before it (an interrupted re-run only
-- adds rows that collapse). check_parties had no other reader: dropped.
CREATE TABLE IF NOT EXISTS check_party_rows
(
    org_id String,
    party String,
    ref String,
    requested_at DateTime('UTC'),
    requested_date Date,
    check_id UUID,
    result_version UInt32,
    decided_at DateTime('UTC'),
    requester String,
    requester_ref String,
    requester_sealed String,
    channel String,
    batch_id String,
    batch_row UInt32,
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
    seller_ref String,
    seller_sealed String,
    buyer_tax_id String,
    buyer_name String,
    buyer_ref String,
    buyer_sealed String,
    amount Decimal(18, 2),
    tax Decimal(18, 2),
    total Decimal(18, 2),
    risk_score UInt8,
    risk_severity String,
    risk_reasons Array(String)
)
ENGINE = ReplacingMergeTree(result_version)
PARTITION BY toYYYYMM(requested_date)
ORDER BY (org_id, party, ref, requested_at, check_id)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS check_party_rows_mv TO check_party_rows AS
SELECT org_id, tupleElement(p, 1) AS party, tupleElement(p, 2) AS ref, requested_at, requested_date, check_id,
    result_version, decided_at, requester, requester_ref, requester_sealed, channel, batch_id, batch_row, fplx,
    invoice_code, invoice_number, issue_date, verdict, mismatched_fields, check_count, follow_up, invoice_status,
    seller_tax_id, seller_name, seller_ref, seller_sealed, buyer_tax_id, buyer_name, buyer_ref, buyer_sealed,
    amount, tax, total, risk_score, risk_severity, risk_reasons
FROM check_results
ARRAY JOIN if(seller_ref = '' AND buyer_ref = '', [('', '')], [('seller', seller_ref), ('buyer', buyer_ref)]) AS p
WHERE party = '' OR ref != '';

INSERT INTO check_party_rows
SELECT org_id, tupleElement(p, 1) AS party, tupleElement(p, 2) AS ref, requested_at, requested_date, check_id,
    result_version, decided_at, requester, requester_ref, requester_sealed, channel, batch_id, batch_row, fplx,
    invoice_code, invoice_number, issue_date, verdict, mismatched_fields, check_count, follow_up, invoice_status,
    seller_tax_id, seller_name, seller_ref, seller_sealed, buyer_tax_id, buyer_name, buyer_ref, buyer_sealed,
    amount, tax, total, risk_score, risk_severity, risk_reasons
FROM check_results
ARRAY JOIN if(seller_ref = '' AND buyer_ref = '', [('', '')], [('seller', seller_ref), ('buyer', buyer_ref)]) AS p
WHERE party = '' OR ref != '';

DROP TABLE IF EXISTS check_parties_mv;

DROP TABLE IF EXISTS check_parties;
