"""Fapiao Sentinel: streaming verification and risk scoring of Chinese VAT invoices.

`fapiao.domain` is the pure core (parsing, verification rules); the other modules wire it to
Kafka, ClickHouse and HTTP.
"""

__version__ = "0.1.0"
