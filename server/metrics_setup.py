"""Before a multi-worker server starts: the directory where its workers' metrics meet.

prometheus_client picks its storage when it is first imported, from the environment: with
`PROMETHEUS_MULTIPROC_DIR` set, every process writes its figures to memory-mapped files in
that directory and `/metrics`, whichever worker answers, adds them up. So the supervisor makes
the directory (empty: figures of a previous run must not be counted again) and sets the
variable before it starts the workers. This module must not import prometheus_client.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from factoryos.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_metrics(settings: Settings) -> Path:
    directory = Path(settings.data_dir) / "server" / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory
