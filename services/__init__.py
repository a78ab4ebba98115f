"""Intake services: the HTTP API and the `fapiao` command line."""
