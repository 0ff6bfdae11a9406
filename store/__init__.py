"""The schema, its migrations and every query: the only room that writes SQL."""
