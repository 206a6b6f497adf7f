"""Sources: what to check. Each module turns one kind of input into subjects."""
