"""The ``signpost`` command line: thin, it parses arguments and calls into the rooms."""
