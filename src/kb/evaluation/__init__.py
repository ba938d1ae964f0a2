"""Retrieval evaluation: `kb eval` over the gold sets and public QA benchmarks."""
