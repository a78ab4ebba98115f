"""人工复核 of documents and batch rows: what goes to a person, what a correction must satisfy, the queue."""
