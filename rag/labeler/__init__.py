"""Radiology sentence labeler: text -> CheXpert finding states, plus detail spotting."""

from rag.labeler.details import Detail, find_details
from rag.labeler.rules import RuleLabeler, split_sentences

__all__ = ["Detail", "RuleLabeler", "find_details", "split_sentences"]
