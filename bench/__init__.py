"""The signpost bench commands: each runs the pipeline's own functions on a data set and prints its figures."""
