"""Ingest stage: load files, clean markup, detect language, chunk with offsets."""
