"""`factoryos support-bundle -o FILE`: the diagnosis archive for a vendor without access to the site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.install import DirOption
from cli.output import console, fail
from cli.steps import done, run_step, step_error
from factoryos.errors import FactoryOSError
from installer.layout import DEFAULT_DIR
from installer.support import build_support_bundle


def support_bundle(
    output: Annotated[Path, typer.Option("--output", "-o", help="Archive to write (.tar.gz).", dir_okay=False)],
    directory: DirOption = DEFAULT_DIR,
    tail: Annotated[int, typer.Option("--tail", min=0, max=100_000, help="Log lines per service.")] = 500,
) -> None:
    """Versions, status, system checks, logs, compose file and .env (secrets redacted), host figures."""
    try:
        names = run_step(
            "Support bundle",
            lambda progress: build_support_bundle(directory, output, tail=tail, progress=lambda m: progress(m)),
        )
    except (FactoryOSError, OSError) as exc:
        fail(escape(step_error(exc)))
    done("Support bundle", f"{output} ({output.stat().st_size / 1024:.0f} KiB: {', '.join(names)})")
    console.print("   Secrets are redacted; read it before you send it: tar -tzf " + escape(str(output)),
                  highlight=False, soft_wrap=True)  # fmt: skip


def register(root: typer.Typer) -> None:
    root.command("support-bundle")(support_bundle)
