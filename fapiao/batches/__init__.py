"""Batch checks: spreadsheets of invoices (CSV, XLSX) and bundles of e-invoice documents, row by row."""
