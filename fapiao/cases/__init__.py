"""人工复核 of risk alerts: a case per alert (status, assignee, due time, comments, history), whose
decisions become the labels the risk model is trained and evaluated on (ClickHouse `alert_decisions`)."""
