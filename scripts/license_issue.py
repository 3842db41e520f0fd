"""Vendor tool: issue a signed FactoryOS license.

The signing key never lives in the repository: pass it with --key or
FACTORYOS_LICENSE_SIGNING_KEY. `--generate-key PATH` creates a new key pair and prints
the public key to ship as factoryos/licensing/vendor_public_key.pem.

    python scripts/license_issue.py --key vendor.pem --customer "Acme Metal" \
        --edition advanced --machines 50 --users 40 --sites 2 --days 365 -o acme.lic
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from factoryos.licensing.document import Edition, License, Limits
from factoryos.licensing.keys import load_private_key, private_pem, public_pem
from factoryos.licensing.signing import sign_license


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generate-key", type=Path, metavar="PATH", help="write a new private key (0600) and exit")
    parser.add_argument(
        "--key", type=Path, default=os.environ.get("FACTORYOS_LICENSE_SIGNING_KEY"), help="private key PEM"
    )
    parser.add_argument("--customer", help="customer name as printed on reports")
    parser.add_argument("--edition", choices=[e.value for e in Edition], default=Edition.CORE.value)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--days", type=int, default=365, help="validity from today")
    parser.add_argument("--host-id", help="bind to one host (`factoryos license status` prints its id)")
    parser.add_argument("-o", "--out", type=Path, help="license file to write (default: stdout)")
    return parser


def _generate(path: Path) -> int:
    key = Ed25519PrivateKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(key))
    sys.stdout.write(public_pem(key).decode())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.generate_key:
        return _generate(args.generate_key)
    if not args.key or not args.customer:
        _parser().error("--key (or FACTORYOS_LICENSE_SIGNING_KEY) and --customer are required")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    document = License(
        license_id=uuid.uuid4().hex,
        customer=args.customer,
        edition=Edition(args.edition),
        limits=Limits(machines=args.machines, users=args.users, sites=args.sites),
        issued_at=now,
        expires_at=now + dt.timedelta(days=args.days),
        host_id=args.host_id,
    )
    text = sign_license(document, load_private_key(Path(args.key)))
    header = f"# FactoryOS {document.edition.value} license for {document.customer}"
    body = f"{header}, expires {document.expires_at:%Y-%m-%d}\n{text}\n"
    if args.out:
        args.out.write_text(body)
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
