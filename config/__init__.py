"""Settings and the loading and validation of source and community files."""
