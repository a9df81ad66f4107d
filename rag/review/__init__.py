"""The review loop: draft lifecycle, reviewer edits, signing, and monitoring from corrections."""
