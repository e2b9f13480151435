"""Change reports and class lists: HTML and xlsx files."""
