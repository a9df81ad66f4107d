"""Persistence: studies, drafts, reviews, signed reports, API keys and the audit trail."""
