"""Reading the stack's raw values: typed access that records every problem instead of raising, so
one run reports them all, each as `isolated-mlops:<key path>: <what is wrong>`; and the values
themselves, as the engine hands them to the program.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from typing import Any, Collection, Mapping, Optional, Sequence

from isolated_mlops.components.config_schema import PROJECT_NAMESPACE, SECRET_KEYS, SECRET_SHOWN_AS

_MISSING = object()


class Problems:
    """Every problem found, in reading order, each once; and which key paths have one."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._paths: set[str] = set()

    def add(self, path: str, message: str) -> None:
        line = f"{PROJECT_NAMESPACE}:{path}: {message}"
        if line not in self.items:
            self.items.append(line)
            self._paths.add(path)

    def has(self, path: str) -> bool:
        """Is there a problem at `path` itself (`*` standing for any list index: `computeClusters[*]`)?"""
        pattern = re.compile(re.escape(path).replace(r"\*", r"\d+"))
        return any(pattern.fullmatch(p) for p in self._paths)

    def at(self, path: str) -> bool:
        """Is there a problem at `path` or anywhere under it (`network` covers `network.amlVnet...`)?"""
        return any(p == path or p.startswith((f"{path}.", f"{path}[")) for p in self._paths)


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    # Case-insensitive, so `NamePrefix` and `nameprefix` both find `namePrefix`.
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


class Reader:
    """Typed access to a mapping of raw values that records, instead of raising, every problem.

    `secret`: the values come from a secret config key, so no message may show them; the CLI marks
    a whole top-level key secret when any value under it is (`pulumi config set --secret --path`).
    `absent`: the mapping itself is missing or of the wrong type, which was reported once already;
    its fields are not reported as missing one by one on top of that.
    """

    def __init__(self, problems: Problems, path: str, values: Mapping[str, Any], *,
                 secret_keys: Collection[str] = (), secret: bool = False, absent: bool = False):
        self.problems = problems
        self.path = path
        self.values = values
        self.secret_keys = secret_keys
        self.secret = secret
        self.absent = absent

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def is_secret(self, key: str) -> bool:
        return self.secret or (not self.path and key in self.secret_keys)

    def show(self, key: str, value: Any) -> str:
        """`value` as a message may show it: never the value of a secret."""
        return SECRET_SHOWN_AS if self.is_secret(key) else repr(value)

    def child(self, key: str, values: Mapping[str, Any], absent: bool = False) -> "Reader":
        return Reader(self.problems, self._key(key), values, secret=self.is_secret(key), absent=absent)

    def unknown_keys(self, known: Sequence[str]) -> None:
        for key in self.values:
            if key not in known:
                self.problems.add(self._key(str(key)), f"unknown key{_did_you_mean(str(key), known)}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self.values.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING and not self.absent:
                self.problems.add(self._key(key), "is required but not set")
            return None if default is _MISSING else default
        return value

    def string(self, key: str, default: Any = _MISSING, pattern: Optional[str] = None,
               pattern_help: str = "", choices: Sequence[str] = ()) -> str:
        value = self.raw(key, default)
        if value is None:
            return ""
        if not isinstance(value, str) or value == "":
            self.problems.add(self._key(key), f"must be a non-empty string, got {self.show(key, value)}")
            return ""
        if choices and value not in choices:
            hint = "" if self.is_secret(key) else _did_you_mean(value, choices)
            self.problems.add(self._key(key), f"must be one of {', '.join(choices)}, got {self.show(key, value)}{hint}")
        elif pattern and not re.fullmatch(pattern, value):
            self.problems.add(self._key(key), f"{self.show(key, value)} {pattern_help}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        # The CLI hands top-level values over as strings; nested ones keep their YAML type.
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if isinstance(value, bool):
            return value
        if value is not None:
            self.problems.add(self._key(key), f"must be true or false, got {self.show(key, value)}")
        return False

    def integer(self, key: str, default: Any = _MISSING, minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> int:
        value = self.raw(key, default)
        if value is None:
            return 0
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        # YAML `true` is a bool, and bool is an int in Python: refuse it rather than count it as 1.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.add(self._key(key), f"must be a whole number, got {self.show(key, value)}")
            return 0
        shown = SECRET_SHOWN_AS if self.is_secret(key) else str(value)
        if minimum is not None and value < minimum:
            self.problems.add(self._key(key), f"must be at least {minimum}, got {shown}")
        if maximum is not None and value > maximum:
            self.problems.add(self._key(key), f"must be at most {maximum}, got {shown}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> "Reader":
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            return self.child(key, {}, absent=True)
        if not isinstance(value, dict):
            self.problems.add(self._key(key), f"must be an object (a YAML mapping), got {self.show(key, value)}")
            return self.child(key, {}, absent=True)
        return self.child(key, value, absent=self.absent)

    def sequence(self, key: str, default: Any = _MISSING) -> Optional[list[Any]]:
        """The list, or None when it is missing or not a list (already reported)."""
        value = self.raw(key, default)
        if isinstance(value, str):
            value = _parse_json(value)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problems.add(self._key(key), f"must be a list, got {self.show(key, value)}")
            return None
        return value

    def cidr(self, key: str) -> Optional[ipaddress.IPv4Network]:
        text = self.string(key)
        if not text:
            return None
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as error:
            reason = "" if self.is_secret(key) else f" ({error})"
            self.problems.add(self._key(key), f"{self.show(key, text)} is not a valid IPv4 CIDR block "
                              f"such as 10.0.0.0/16{reason}")
            return None
        if not network.is_private:
            self.problems.add(self._key(key), f"{self.show(key, text)} is not a private (RFC 1918) range")
        return network


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def project_values(wire: Mapping[str, str]) -> dict[str, Any]:
    """Our keys (without the `isolated-mlops:` namespace) from config as the CLI hands it over:
    strings, with objects and lists as JSON. Secret values stay the strings they are."""
    prefix = f"{PROJECT_NAMESPACE}:"
    values: dict[str, Any] = {}
    for full_key, value in wire.items():
        if full_key.startswith(prefix):
            key = full_key[len(prefix):]
            structured = key not in SECRET_KEYS and isinstance(value, str) and value[:1] in "[{"
            values[key] = _parse_json(value) if structured else value
    return values


def all_project_config() -> dict[str, Any]:
    """Every `isolated-mlops:*` key the engine handed to this program, parsed the way the SDK does.

    `pulumi.Config` has no way to list keys, and unknown keys (typos) must be reported, so this reads
    the same two places the SDK reads: values set in-process and the PULUMI_CONFIG environment.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return project_values(merged)



def is_secret_key(key: str) -> bool:
    """Did the CLI mark `<project>:<key>` secret (in-process config or the PULUMI_CONFIG_SECRET_KEYS environment)?"""
    from pulumi.runtime import config as runtime_config

    full = f"{PROJECT_NAMESPACE}:{key}"
    return runtime_config.is_config_secret(full) or full in runtime_config.get_config_secret_keys_env()

