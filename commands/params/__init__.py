"""Per-pipeline parameter models: the single source of truth for names, types, defaults and help.

Each model drives parsing and validation (here), ``help`` text, the Slack modal, the HTTP API and
the KFP pipeline signature (``pipelines.signature``).
"""
