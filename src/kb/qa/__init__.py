"""QA stage: retrieve, fuse, answer and cite."""
