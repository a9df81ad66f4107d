"""radrag: retrieval-augmented chest X-ray report drafting that refuses to make things up."""

__version__ = "0.1.0"
