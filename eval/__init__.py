"""Evaluation: datasets with verbatim evidence, pure metrics, and a runner that compares pipeline variants."""
