"""Knowledge base: sources -> passages -> embeddings -> FAISS index -> published version."""
