"""Index stage: embed chunks, build FAISS and BM25 indexes, persist with a manifest."""
