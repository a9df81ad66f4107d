"""One router per endpoint family; HTTP only, the pipeline does the work."""
