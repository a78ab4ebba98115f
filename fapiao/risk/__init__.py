"""Risk scoring, the pure core: seller statistics, enrichment, features, rules, scores, the anomaly model.

Agents only move data; everything here is a function of data (the model's files aside), so the worker,
the evaluation replay and the tests all compute the same thing.
"""
