"""Adapters: all I/O (model loading, FAISS files, registry downloads, parsing) lives here."""
