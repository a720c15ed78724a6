"""Fake system commands for the first-boot test (tests/test_platform_agent_registration.py): each
appends one line to a log (a Python literal: name, argv, ids, cwd, time, environment without the
token variables, and the tokens' SHA-256), then runs its own body."""

from __future__ import annotations

import sys
from pathlib import Path


def recorder(log: Path, name: str, body: str = "") -> str:
    """A fake command (Python, so it can record argv exactly): appends one line, then `body`.
    Run with `-S` (the standard library is all it needs; skipping site saves ~30 ms of CPU a call).
    The line is a Python literal (`Boot.calls` reads it with ast.literal_eval), not JSON, and hashlib
    is imported only when a token is there to hash: `import json` alone costs ~20 ms of CPU a call."""
    return f"""#!{sys.executable} -S
import os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
secret_vars = ("VSTS_AGENT_INPUT_TOKEN", "ACTIONS_RUNNER_INPUT_TOKEN")
held = [k for k in secret_vars if k in os.environ]
if held:
    import hashlib
record = {{"name": {name!r}, "argv": sys.argv[1:], "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
          "cwd": os.getcwd(), "time": time.time(),
          "env": {{k: v for k, v in os.environ.items() if k not in secret_vars}},
          "token_sha256": {{k: hashlib.sha256(os.environ[k].encode()).hexdigest() for k in held}}}}
with open({str(log)!r}, "a") as f:
    f.write(repr(record) + "\\n")
{body}
"""


BASH_RECORDER = r"""#!/bin/bash
here=${0%/*}; [[ $here = /* ]] || here=$PWD/$here
lit() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; REPLY="'$s'"; }
argv=; for a in "$@"; do lit "$a"; argv+="$REPLY, "; done
env=; held=
for k in $(compgen -e); do
  case $k in
    VSTS_AGENT_INPUT_TOKEN|ACTIONS_RUNNER_INPUT_TOKEN)
      h=$(printf '%s' "${!k}" | sha256sum); held+="'$k': '${h%% *}', " ;;
    *) lit "${!k}"; env+="'$k': $REPLY, " ;;
  esac
done
lit "$PWD"; cwd=$REPLY
printf '%s\n' "{'name': '@NAME@', 'argv': [$argv], 'uid': $EUID, 'cwd': $cwd, 'time': $EPOCHREALTIME, 'env': {$env}, 'token_sha256': {$held}}" >>'@LOG@'
"""


def bash_recorder(log: Path, name: str, body: str = "") -> str:
    """A fake command in bash, for those whose record needs no gid/groups: the same line as
    `recorder` (name, argv, uid, cwd, time, env, token_sha256; bash adds its own SHLVL/PWD to env)
    with no Python process to start (~3 ms of CPU a call instead of ~14; a first boot runs about
    twenty of them). Strings are written as Python literals (backslash, quote, newline and
    carriage return escaped)."""
    assert "'" not in str(log) and name.replace(".", "").replace("-", "").isalnum()
    return BASH_RECORDER.replace("@NAME@", name).replace("@LOG@", str(log)) + body + "\n"
