"""Offline evaluation: the guard's challenge set, labeler agreement, metrics."""
