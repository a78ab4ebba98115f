"""Webhooks for enterprise systems: per-organisation subscriptions to results, follow-ups and alerts,
delivered signed (HMAC-SM3 over timestamp + body), at least once, with backoff, a delivery log, an
automatic pause after repeated failure and redelivery on demand. Driven from Kafka by `fapiao webhooks`."""
