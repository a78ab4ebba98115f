"""Event schemas: the wire contract of every Kafka topic (JSON, versioned by `schema_version`)."""
