"""Pipelines: the store and the analysis wired end to end (the store build, England's flows, the validations)."""
