"""An independent sentence check (medspaCy ConText, radiology-semantic-dict terms)."""

from rag.crosscheck.context_checker import ContextChecker, CrossReading
from rag.crosscheck.verdict import cross_verdict

__all__ = ["ContextChecker", "CrossReading", "cross_verdict"]
