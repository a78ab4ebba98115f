"""The pure core: identifiers, invoice types and verification rules. No I/O in this package."""
