"""What every flow needs before Prefect is imported: its home under var/, no telemetry, offline models."""

from __future__ import annotations

import os
from pathlib import Path

# Tags of the tasks of each stage, for Prefect's tag concurrency limits (`prefect concurrency-limit create TAG N`).
CRAWL, EXTRACT, EMBED = "signpost-crawl", "signpost-extract", "signpost-embed"
# The stages that work through the whole store (extract or embed everything pending, group what is new): two
# communities' weekly runs due at the same time would do that work twice and race on what they write, so
# `serve` and `deploy` let one such task run at a time.
STORE_WIDE = "signpost-store-wide"
STAGE_LIMITS = {STORE_WIDE: 1}


def named_after(prefix: str, parameter: str = "community"):
    """A flow run name function: the prefix and the run's community, or "all" when it has none."""

    def name() -> str:
        from prefect.runtime import flow_run

        return f"{prefix}-{flow_run.parameters.get(parameter) or 'all'}"

    return name


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


def dask_task_runner(address: str, workers: int = 0):
    """Prefect's Dask task runner for SIGNPOST_DASK_ADDRESS: an existing scheduler, or a local cluster of
    single-threaded worker processes (extraction and embedding are CPU-bound, threads would share one GIL)."""
    from prefect_dask import DaskTaskRunner

    if address == "local":
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers or os.cpu_count() or 1,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return DaskTaskRunner(address=address)
