"""The intake API (FastAPI): validates check requests and publishes them to Kafka."""
