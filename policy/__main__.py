"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policy`.

`PolicyPack(...)` starts the analyzer's gRPC server and blocks until the engine is done, so it is
built here and only here; what it is built from is in `policy/pack.py` (importable and tested).
"""

import io
import os
import sys
from pathlib import Path

# Pulumi's Python host runs `python policy/`, which puts policy/ itself first on sys.path: there
# `offline.py` would shadow the project's `offline` package. The rules import the project's modules
# (`policy.rules`, `components.zones`), so the project root goes first instead.
PACK_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PACK_DIR]
sys.path.insert(0, str(PACK_DIR.parent))

# The engine reads the analyzer's port from the first line of stdout. `PolicyPack` writes it to
# `sys.stdout.buffer` and never flushes; on a pipe that buffer holds it unless the host happens to run
# Python unbuffered. Unbuffered stdout makes the handshake independent of how we are started.
sys.stdout = io.TextIOWrapper(open(sys.stdout.fileno(), "wb", buffering=0, closefd=False), write_through=True)

from pulumi_policy import PolicyPack  # noqa: E402

from policy.pack import pack_arguments  # noqa: E402

# The CLI tells a pack which stack it runs for; that stack's committed config sets the levels.
PolicyPack(**pack_arguments(os.environ.get("PULUMI_STACK")))
