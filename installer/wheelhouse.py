"""A wheelhouse of FactoryOS and all its dependencies, for installs without PyPI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from installer.errors import InstallError


def project_root() -> Path | None:
    """The source checkout this package runs from, if any (bundles are built from one)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def build_wheelhouse(destination: Path, project: Path | None = None) -> list[Path]:
    source = project or project_root()
    if source is None:
        raise InstallError(
            "bundles are built from a FactoryOS source checkout; pass --project DIR or --wheelhouse DIR",
            code="project_missing",
        )
    destination.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(destination), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise InstallError(f"pip wheel failed:\n{run.stderr.strip()[-2000:]}", code="wheelhouse_failed")
    return sorted(destination.glob("*.whl"))
