"""The pipeline stages, one module each: retrieve -> generate -> verify -> decide."""
