"""Verification receipts (查验证明): a check's verdict as SM2-signed JSON, and the same as a PDF."""
