"""Search the course: chunks, an embedder, and a hybrid vector and keyword index."""
