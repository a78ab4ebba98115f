"""ClickHouse: migrations, the results sink's rows, and the read queries."""
