"""Prefect flows and deployments, thin: each task calls one function of another room."""
