"""The offline engine: run the real program (`__main__.py`, unchanged) for one stack file under
Pulumi's mock runtime, and record everything it registers.

This is the one engine behind the unit tests and the offline preview/diff/diagram commands. It
does what the Pulumi CLI does before the program runs (read `Pulumi.<stack>.yaml`, hand the config
over as strings, mark secrets) and records what the CLI's engine would receive: type, name, parent,
dependencies, property dependencies, protect, and the inputs (with secrets masked for display).
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import runpy
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline import sdk_shortcuts
from offline.mocks import PlatformMocks

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "offline-placeholder-secret"
MASK = "[secret]"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_RUN_LOCK = threading.Lock()


@dataclass
class RegisteredResource:
    """One resource registration, as the engine received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    inputs: dict[str, Any]
    """Wire (camelCase) inputs with secret values unwrapped: for assertions only, never for display."""
    masked_inputs: dict[str, Any]
    """The same inputs with every secret replaced by "[secret]", as `pulumi preview` shows them."""
    secret_paths: list[str]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0
    """The order the engine received this registration in (0 = first): `preview --json` lists steps so."""
    aliases: list[str] = field(default_factory=list)
    """Every old URN this resource may claim, resolved as the engine resolves alias specs (its own
    aliases, and those it inherits from its parent's aliases)."""
    replace_on_changes: list[str] = field(default_factory=list)
    """Input paths whose change replaces the resource (the `replace_on_changes` option)."""
    delete_before_replace: bool = False

    def input(self, path: str, default: Any = None) -> Any:
        """`input("properties.networkAcls.defaultAction")`: a dotted path into the inputs."""
        value: Any = self.inputs
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value


@dataclass
class StackRun:
    """Everything one run of the program registered, plus its exports or the error it ended with."""

    stack: str
    project: str
    resources: list[RegisteredResource]
    exports: dict[str, Any]
    """Stack outputs, secrets masked."""
    error: Optional[BaseException] = None
    logs: list[str] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    """The config as the program received it (`<namespace>:<key>` -> string), secrets masked."""
    seconds: float = 0.0
    """How long the program took to run."""

    def in_registration_order(self) -> list[RegisteredResource]:
        return sorted(self.resources, key=lambda r: r.sequence)

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self, urn: str) -> RegisteredResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.parent == urn]

    def ancestors(self, resource: RegisteredResource) -> Iterator[RegisteredResource]:
        by_urn = {r.urn: r for r in self.resources}
        parent = by_urn.get(resource.parent)
        while parent is not None:
            yield parent
            parent = by_urn.get(parent.parent)

    def descendants(self, urn: str) -> list[RegisteredResource]:
        found, frontier = [], [urn]
        while frontier:
            current = frontier.pop()
            for child in self.children(current):
                found.append(child)
                frontier.append(child.urn)
        return found

    def custom_resources(self) -> list[RegisteredResource]:
        return [r for r in self.resources if r.custom]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor drops parents, dependencies and options; this one records them."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[RegisteredResource] = []
        self._aliases: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return _make_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

    def _alias_urns(self, request: Any) -> list[str]:
        """The old URNs a registration may claim. The SDK sends alias *specs* (name/type/parent
        changes) when the monitor supports them, and the engine turns them into URNs, multiplying
        in the parent's aliases; recording the specs' text would let no check find the old URN."""
        stack, project = pulumi.get_stack(), pulumi.get_project()
        parent = request.parent
        parent_aliases = self._aliases.get(parent, []) if parent else []
        found: list[str] = []

        def add(urn: str) -> None:
            if urn and urn not in found:
                found.append(urn)

        own: list[str] = []
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                own.append(alias.urn)
                continue
            spec = alias.spec
            if spec.WhichOneof("parent") == "noParent" and spec.noParent:
                parents = [""]
            elif spec.WhichOneof("parent") == "parentUrn" and spec.parentUrn:
                # An explicit old parent that was itself renamed is found under its old URN.
                parents = [spec.parentUrn, *self._aliases.get(spec.parentUrn, [])]
            else:
                parents = [parent]
            for old_parent in parents:
                own.append(_make_urn(spec.stack or stack, spec.project or project, old_parent,
                                     spec.type or request.type, spec.name or request.name))
        for urn in own:
            add(urn)
        # A renamed (aliased) parent gives each child an alias under the parent's old URN; a child
        # named "<parent>-x" is assumed to have been "<old parent>-x" (the engine's convention).
        parent_name = _urn_name(parent) if parent else ""
        for parent_alias in parent_aliases:
            add(_inherited_alias(stack, project, request.type, request.name, parent_name, parent_alias))
            for urn in own:
                add(_inherited_alias(stack, project, _urn_type(urn), _urn_name(urn), parent_name, parent_alias))
        return found

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        raw_inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        plain, masked, secret_paths = _split_secrets(raw_inputs)
        state = self.resources.get(response.urn)
        record = RegisteredResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items() if deps.urns
            },
            protect=bool(request.protect),
            inputs=plain,
            masked_inputs=masked,
            secret_paths=secret_paths,
            id=state.id if state else "",
            outputs=dict(state.state) if state else {},
            aliases=self._alias_urns(request),
            replace_on_changes=list(request.replaceOnChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
        )
        with self._lock:
            record.sequence = len(self.registrations)
            self._aliases[record.urn] = record.aliases
            self.registrations.append(record)
        return response


_ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _make_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """As the real engine does: a child's type is qualified by its parent's *whole* type chain,
    and top-level resources are not qualified by the root stack's type."""
    parent_type = parent.split("::")[2] if parent else ""
    if parent_type and parent_type != _ROOT_STACK_TYPE:
        type_ = f"{parent_type}${type_}"
    return "urn:pulumi:" + "::".join([stack, project, type_, name])


def _urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def _urn_type(urn: str) -> str:
    """The resource's own type (the last link of its qualified type chain)."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def _inherited_alias(stack: str, project: str, child_type: str, child_name: str, parent_name: str,
                     parent_alias: str) -> str:
    name = child_name
    if child_name.startswith(parent_name):
        name = _urn_name(parent_alias) + child_name[len(parent_name):]
    return _make_urn(stack, project, parent_alias, child_type, name)


def _split_secrets(value: Any, path: str = "") -> tuple[Any, Any, list[str]]:
    """(plain value, value with secrets masked, paths of secrets) for a wire-format value."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            inner, _, _ = _split_secrets(value.get("value"), path)
            return inner, MASK, [path or "<root>"]
        plain, masked, paths = {}, {}, []
        for key, item in value.items():
            p, m, s = _split_secrets(item, f"{path}.{key}" if path else key)
            plain[key], masked[key] = p, m
            paths.extend(s)
        return plain, masked, paths
    if isinstance(value, list):
        plain_list, masked_list, paths = [], [], []
        for index, item in enumerate(value):
            p, m, s = _split_secrets(item, f"{path}[{index}]")
            plain_list.append(p)
            masked_list.append(m)
            paths.extend(s)
        return plain_list, masked_list, paths
    return value, value, []


# ------------------------------------------------------------------------------------------------
# Stack files
# ------------------------------------------------------------------------------------------------
def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return _parsed((project_dir / "Pulumi.yaml").read_text(), yaml.SafeLoader)["name"]


_PARSED: dict[tuple[str, type], Any] = {}


def _parsed(text: str, loader: type) -> Any:
    """`yaml.load(text)`, parsed once per text: PyYAML takes ~15 ms for a stack file, and every run
    reads two or three (tests run the program ~80 times). Keyed by the text itself, so an edited
    file is parsed again; each caller gets its own copy. Only documents that parse are kept."""
    key = (text, loader)
    if key not in _PARSED:
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader or _StrictLoader
    return copy.deepcopy(_PARSED[key])


def available_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


class StackFileError(ValueError):
    """A stack file that cannot be read as the Pulumi CLI reads it: a user's mistake, said in one
    line that starts with `file:line:column:` where the file shows it."""


class _StrictLoader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads a stack file: a key given twice is an error (Go's yaml.v3
    refuses it), where PyYAML alone would silently keep the last value."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice (first at line {first.line + 1})", key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


# yaml.v3, which the CLI uses, hands a date-like scalar (`2024-01-01`) to the program as the string
# it is; PyYAML would make it a date that no config value can be.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _where(path: Path, mark: Optional[yaml.Mark]) -> str:
    return f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path.name


def read_stack_file(path: Path) -> dict[str, Any]:
    """The stack file as a mapping, or a StackFileError saying where and what is wrong with it."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise StackFileError(f"{path.name}:{line}: is not UTF-8 text (byte 0x{data[error.start]:02x}); "
                             "save it as UTF-8") from None
    try:
        document = _parsed(text, _StrictLoader)
    except yaml.MarkedYAMLError as error:
        what = "; ".join(part for part in (error.context, error.problem) if part)
        if (error.problem or "").startswith("expected <block end>") and error.context_mark is not None:
            what = (f"this line's indentation does not fit the block that starts at line "
                    f"{error.context_mark.line + 1} ({what})")
        if "\t" in (error.problem or "") or "'\\t'" in (error.problem or ""):
            what += " (YAML indents with spaces, never tabs)"
        raise StackFileError(f"{_where(path, error.problem_mark or error.context_mark)}: {what}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML ({error})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: must be a YAML mapping with a `config:` section, "
                             f"got a {type(document).__name__}")
    config = document.get("config")
    if config is not None and not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config:` must be a mapping of key: value, got a {type(config).__name__}")
    for key in config or {}:
        if not isinstance(key, str):
            raise StackFileError(f"{path.name}: config key {key!r} must be a name such as "
                                 f"isolated-mlops:location")
    return document


def stack_values(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The stack file's `config:` as Python values, keys without the project namespace where it is ours."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(available_stacks(project_dir)) or "none"
        raise FileNotFoundError(f"no stack file {path.name} (stacks here: {known})")
    document = read_stack_file(path)
    prefix = f"{project_name(project_dir)}:"
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in (document.get("config") or {}).items()}


def _wire_config(values: Mapping[str, Any], project: str,
                 secrets: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI hands it to a program: `<namespace>:<key>` -> string; objects as JSON."""
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in values.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Ciphertext needs the stack's secrets provider, which is not here: use a placeholder.
            config[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        elif isinstance(value, bool):
            config[full] = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            config[full] = str(value)
        else:
            config[full] = json.dumps(value, default=str)
    for key, value in secrets.items():
        full = key if ":" in key else f"{project}:{key}"
        config.setdefault(full, value)
        secret_keys.append(full)
    return config, secret_keys


def default_secrets(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """Placeholders for the secrets the program in `project_dir` declares: stack files hold none, the
    engine has no key. A revision from before the package declared them in `components/config.py`,
    imported by its bare name (found first in that checkout: offline/__main__.py); a program that
    does not know a key refuses it, so the list must be the revision's own."""
    return {key: SECRET_PLACEHOLDER for key in program_config(project_dir).SECRET_KEYS}


def program_config(project_dir: Path = PROJECT_DIR) -> Any:
    """The configuration module of the program in `project_dir` (its keys, its check of them)."""
    if not (project_dir / "isolated_mlops").is_dir() and (project_dir / "components" / "config.py").is_file():
        return importlib.import_module("components.config")
    return importlib.import_module("isolated_mlops.components.config")


# ------------------------------------------------------------------------------------------------
# Running the program
# ------------------------------------------------------------------------------------------------
def run_stack(
    stack: str,
    values: Optional[Mapping[str, Any]] = None,
    secrets: Optional[Mapping[str, str]] = None,
    preview: bool = True,
    project_dir: Path = PROJECT_DIR,
) -> StackRun:
    """Run `__main__.py` for `stack` and return what it registered.

    values: the stack's config (as from `stack_values`); defaults to the stack file's.
    secrets: secret config values; defaults to placeholders for the program's secret keys.
    """
    project = project_name(project_dir)
    values = copy.deepcopy(dict(values if values is not None else stack_values(stack, project_dir)))
    config, secret_keys = _wire_config(values, project, default_secrets(project_dir) if secrets is None else secrets)

    with _RUN_LOCK:
        logs: list[str] = []
        logger = logging.getLogger(f"offline.{stack}")
        logger.propagate = False
        logger.handlers = [_ListHandler(logs)]
        # A second run in one process must not reuse the first run's root stack.
        pulumi_settings.ROOT.set(None)
        set_all_config(config, secret_keys)
        mocks = PlatformMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview,
                                 logger=logger, monitor=monitor)

        error: Optional[BaseException] = None
        started = time.perf_counter()
        try:
            with sdk_shortcuts.applied(monitor):
                _sync_await(run_pulumi_func(lambda: _run_program(project_dir)))
        except Exception as exc:  # noqa: BLE001 - the run's error is part of its result
            error = exc
        exports = _resolve_exports() if error is None else {}
        seconds = time.perf_counter() - started

    resources = sorted(monitor.registrations, key=lambda r: r.urn)
    shown_config = {key: (MASK if key in secret_keys else value) for key, value in sorted(config.items())}
    return StackRun(stack=stack, project=project, resources=resources, exports=exports, error=error, logs=logs,
                    config=shown_config, seconds=seconds)


def _run_program(project_dir: Path) -> None:
    """The project as the Pulumi CLI's Python host runs it: `runpy.run_path` of the program's folder
    (Pulumi.yaml's `main`, the project folder by default), which runs its `__main__.py` as the main
    module with the folder first on sys.path for the run, and drops its globals afterwards."""
    runpy.run_path(str(project_dir), run_name="__main__")


def _resolve_exports() -> dict[str, Any]:
    """Exports land on the (already finished) mock root stack; resolve them, masking secrets."""
    root = pulumi_settings.get_root_resource()
    outputs = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        is_secret = _sync_await(output.is_secret())
        resolved[name] = MASK if is_secret else _sync_await(output.future())
    return resolved


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname.lower()}: {record.getMessage()}")
