"""Plan and outcome to rows of French text, for the terminal and the reports (pure)."""
