"""Retrieval: the embedding model, vector and keyword indexes, fused search and answer composition."""
