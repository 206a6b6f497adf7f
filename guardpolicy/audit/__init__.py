"""The audit trail: one JSON line per judged subject per decision, in a local append-only log."""
