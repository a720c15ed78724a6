"""Entry point of the CrossGuard pack: `pulumi preview --policy-pack policy`.

`PolicyPack(...)` starts the analyzer's gRPC server and blocks until the engine is done, so it is
built here and only here; what it is built from is in `policy/pack.py` (importable and tested).
"""

import io
import os
import sys

# Pulumi's Python host runs `python policy/` in the virtualenv PulumiPolicy.yaml names, where
# requirements.txt installed this repository as the `isolated_mlops` package: the pack imports its
# rules from there, by the same names as the program and the tests, from whatever folder it runs in.

# The engine reads the analyzer's port from the first line of stdout. `PolicyPack` writes it to
# `sys.stdout.buffer` and never flushes; on a pipe that buffer holds it unless the host happens to run
# Python unbuffered. Unbuffered stdout makes the handshake independent of how we are started.
sys.stdout = io.TextIOWrapper(open(sys.stdout.fileno(), "wb", buffering=0, closefd=False), write_through=True)

from pulumi_policy import PolicyPack  # noqa: E402

from isolated_mlops.policy.pack import pack_arguments  # noqa: E402

# The CLI tells a pack which stack it runs for; that stack's committed config sets the levels.
PolicyPack(**pack_arguments(os.environ.get("PULUMI_STACK")))
