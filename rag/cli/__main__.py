"""`python -m rag.cli`."""

from rag.cli import app

app()
