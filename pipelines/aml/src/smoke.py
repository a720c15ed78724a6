"""The smoke-test job: runs on the platform's private compute, writes a small report to the
workspace's default datastore (so storage through its private endpoints is exercised too)."""

from __future__ import annotations

import argparse
import json
import platform
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path


def report() -> dict[str, str]:
    return {
        "host": socket.gethostname(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path, help="folder the job's `report` output is mounted at")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    body = report()
    (args.output / "smoke.json").write_text(json.dumps(body, indent=2))
    print(json.dumps(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
