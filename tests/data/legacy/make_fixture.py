"""Make the legacy-home fixture: node homes written by the code of commit 7c84bcd.

Run from the repository root with the project's virtualenv::

    .venv/bin/python tests/data/legacy/make_fixture.py

It checks out 7c84bcd in a temporary git worktree and runs that tree's own
``spoor demo`` (three agencies on 127.0.0.1: init, peers, officers, record
import, matches, disclosure requests, officer approvals) with this
virtualenv's python and ``PYTHONPATH`` pointing at the old tree. The three
homes are then copied to ``tests/data/legacy/7c84bcd/`` (database
checkpointed into one file; logs and the demo's input files left out).
Run again only to regenerate the fixture; the tests never run it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

COMMIT = "7c84bcd"
ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).resolve().parent / COMMIT
AGENCIES = ("ke-kws", "vn-customs", "mz-pgr")
KEEP_SUFFIXES = (".toml", ".yaml", ".yml", ".pem", ".crt", ".key", ".db", ".pub", ".crl")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="spoor-legacy-") as tmp:
        src = Path(tmp) / "src"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(src), COMMIT], check=True
        )
        try:
            demo_dir = Path(tmp) / "demo"
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(src), str(src / "proto")]),
                "COLUMNS": "160",
                "NO_COLOR": "1",
            }
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "node.cli",
                    "demo",
                    "--dir",
                    str(demo_dir),
                    "--background",
                    "20",
                ],
                cwd=src,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if OUT.exists():
                shutil.rmtree(OUT)
            for agency in AGENCIES:
                home = next(p for p in demo_dir.rglob("spoor.toml") if agency in str(p)).parent
                db = home / "node.db"
                conn = sqlite3.connect(db)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
                conn.close()
                for path in sorted(home.rglob("*")):
                    if path.is_file() and path.suffix in KEEP_SUFFIXES:
                        target = OUT / agency / path.relative_to(home)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, target)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(src)], check=True
            )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
