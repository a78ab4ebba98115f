"""国密 (Chinese commercial cryptography): SM3 hashes and keyed pseudonyms, SM4-GCM envelopes with key
ids for rotation, SM2 signatures (receipts).

OpenSSL (hashlib, `cryptography`) carries the hot paths; gmssl signs with SM2, which OpenSSL's Python
bindings do not expose; `sm2_reference` is an independent implementation used to cross-check gmssl.
"""
