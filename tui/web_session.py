"""One browser tab's terminal app: what `factoryos web` starts for each connection.

Run as `python -m tui.web_session SERVER [--ca-file F] [--fingerprint SHA256] [--client-address IP]`.
The server is fixed (the sign-in screen shows it read-only). The profile
lives in a directory of its own that is removed at exit: the browser's users share one
host account, and nobody should find the previous user's email filled in.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from factoryos.client import save_profile
from factoryos.client.profile import ClientProfile, ServerTrust


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tui.web_session")
    parser.add_argument("server")
    parser.add_argument("--ca-file")
    parser.add_argument("--fingerprint")
    parser.add_argument("--high-contrast", action="store_true")
    parser.add_argument("--client-address", help="The browser's address, forwarded to the API.")
    args = parser.parse_args(argv)

    from tui.app import make_app

    with tempfile.TemporaryDirectory(prefix="factoryos-web-") as state:
        config = Path(state) / "client.json"
        profile = ClientProfile(server=args.server)
        if args.ca_file or args.fingerprint:
            profile.trust[args.server] = ServerTrust(ca_file=args.ca_file, pinned_sha256=args.fingerprint)
        save_profile(config, profile)
        app = make_app(server=args.server, config_path=config, high_contrast=args.high_contrast or None,
                       server_fixed=True, client_address=args.client_address)
        app.run()


if __name__ == "__main__":
    main()
