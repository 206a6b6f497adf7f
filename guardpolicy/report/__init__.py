"""Report formats: how a ``Decision`` is said. One module per format."""
