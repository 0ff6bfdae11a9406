"""What every flow needs before Prefect is imported: its home under var/, no telemetry, offline models."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_environment(var_dir: Path) -> None:
    """Default Prefect and Hugging Face to local, offline, quiet operation; explicit settings win."""
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str((var_dir / "prefect").resolve())))
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The first start of a local server migrates its database, which takes longer than the default allows.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.5")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
