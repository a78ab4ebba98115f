"""A seeded, realistic demo feed: Beijing sellers issuing invoices, status changes, and labelled checks."""

from fapiao.demo.generator import LABELS, DemoEvent, DemoFeed

__all__ = ["LABELS", "DemoEvent", "DemoFeed"]
