"""Packages from the npm registry that the tests run (the OpenID provider, axe-core),
installed under var/npm by the test setup and never committed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

PREFIX = Path(__file__).resolve().parents[1] / "var" / "npm"


def installed(spec: str, name: str) -> Path:
    """The package directory of ``name``, ``npm install``-ed from ``spec`` (a pinned range such
    as ``oidc-provider@9.13.x``) into a prefix of its own under var/npm the first time.

    `make test` runs two legs side by side, so two processes can get here at once: each
    installs into a scratch prefix and renames it into place; the loser of the rename drops
    its copy (the winner's is the same version).
    """
    home = PREFIX / name
    target = home / "node_modules" / name
    if target.exists():
        return target
    PREFIX.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=PREFIX))
    try:
        command = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix"]
        subprocess.run([*command, str(scratch), spec], check=True, capture_output=True, timeout=300)
        try:
            scratch.rename(home)
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
