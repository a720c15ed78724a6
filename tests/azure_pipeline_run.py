"""What Azure Pipelines would run for a push: the pipeline compiled, then its stage conditions evaluated.

No Azure DevOps here, so this does the two passes the service does, for the subset of the expression
language pipelines/azure-pipelines.yml uses, and refuses anything else (an unknown function, context
or syntax raises, so a test cannot pass by misreading the file):

1. compile time: `${{ each x in parameters.p }}` over a list or a mapping (items `key`/`value`) and
   `${{ expr }}` in strings (https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions);
2. run time: each stage's `condition` (default `succeeded()`) in dependency order, with
   `variables['...']` and `dependencies.<stage>.outputs['<job>.<step>.<var>']` for stages it depends on
   (https://learn.microsoft.com/azure/devops/pipelines/process/expressions). String comparison in
   `eq`/`ne` ignores case, as the service's does. A stage that runs is assumed to succeed, except the
   stage whose output the caller supplies from really running its step.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Optional

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<punct>[(),.\[\]*]))")
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}")
_EACH = re.compile(r"\$\{\{\s*each\s+(\w+)\s+in\s+(.+?)\s*\}\}")


class Unsupported(ValueError):
    """The pipeline uses expression syntax this simulator does not model."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise Unsupported(f"cannot read expression at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match[kind]))
        pos = match.end()
    return out


class _Parser:
    """expr := literal | name accessor* | name '(' args ')';  accessor := '.' name | '[' expr ']'"""

    def __init__(self, text: str, context: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> None:
        self.tokens, self.i, self.context, self.functions = _tokens(text), 0, context, functions
        self.text = text

    def _peek(self) -> Optional[str]:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _take(self, expected: Optional[str] = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise Unsupported(f"unexpected end of {self.text!r}")
        token = self.tokens[self.i]
        if expected is not None and token[1] != expected:
            raise Unsupported(f"expected {expected!r} in {self.text!r}, got {token[1]!r}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self._expr()
        if self.i != len(self.tokens):
            raise Unsupported(f"trailing text in {self.text!r}")
        return value

    def _expr(self) -> Any:
        kind, value = self._take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value)
        if kind != "name":
            raise Unsupported(f"unexpected {value!r} in {self.text!r}")
        if value in ("true", "false"):
            return value == "true"
        if self._peek() == "(":
            self._take("(")
            args = []
            while self._peek() != ")":
                args.append(self._expr())
                if self._peek() == ",":
                    self._take(",")
            self._take(")")
            if value not in self.functions:
                raise Unsupported(f"function {value}() is not modelled")
            return self.functions[value](*args)
        if value not in self.context:
            raise Unsupported(f"context {value!r} is not available here")
        current = self.context[value]
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = self._expr()
                self._take("]")
            current = _index(current, key)
        return current


def _index(value: Any, key: Any) -> Any:
    """Property access; a missing key is null, as in the service's expressions."""
    if isinstance(value, dict):
        return value.get(key)
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _eq(a: Any, b: Any) -> bool:
    # "eq: Evaluates True if parameters are equal"; strings compare ordinal ignore-case (Expressions,
    # Functions: https://learn.microsoft.com/azure/devops/pipelines/process/expressions#functions).
    if isinstance(a, str) or isinstance(b, str):
        return _text(a).casefold() == _text(b).casefold()
    return bool(a == b)


TEMPLATE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "replace": lambda s, old, new: _text(s).replace(_text(old), _text(new)),
    "convertToJson": lambda value: json.dumps(value, indent=2),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
}


def evaluate(text: str, context: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> Any:
    return _Parser(text, context, functions).parse()


# ---- compile time ------------------------------------------------------------------------------------
def compile_pipeline(document: Any, parameters: dict[str, Any]) -> Any:
    """The document with every `${{ each }}` expanded and every `${{ expr }}` replaced by its value."""
    return _compile(document, {"parameters": parameters})


def _substitute(text: str, context: dict[str, Any]) -> Any:
    whole = _EMBEDDED.fullmatch(text.strip())
    if whole and text.count("${{") == 1:
        return evaluate(whole[1], context, TEMPLATE_FUNCTIONS)
    return _EMBEDDED.sub(lambda m: _text(evaluate(m[1], context, TEMPLATE_FUNCTIONS)), text)


def _compile(node: Any, context: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return _substitute(node, context) if "${{" in node else node
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if isinstance(key, str) and key.strip().startswith("${{"):
                raise Unsupported(f"template key {key!r} inside a mapping is not modelled")
            out[key] = _compile(value, context)
        return out
    if isinstance(node, list):
        items: list[Any] = []
        for item in node:
            if isinstance(item, dict) and len(item) == 1 and str(next(iter(item))).strip().startswith("${{"):
                key, body = next(iter(item.items()))
                each = _EACH.fullmatch(key.strip())
                if not each:
                    raise Unsupported(f"list insertion {key!r} is not modelled")
                collection = evaluate(each[2], context, TEMPLATE_FUNCTIONS)
                elements = ([{"key": k, "value": v} for k, v in collection.items()]
                            if isinstance(collection, dict) else list(collection or []))
                for element in elements:
                    items.extend(_compile(body or [], {**context, each[1]: element}))
            else:
                items.append(_compile(item, context))
        return items
    return node


# ---- run time ----------------------------------------------------------------------------------------
def stage_results(compiled: dict[str, Any], variables: dict[str, str],
                  outputs: Callable[[dict[str, Any]], tuple[str, dict[str, str]]]) -> dict[str, str]:
    """Each stage's result ('Succeeded', 'Failed', 'Skipped') for one run.

    `outputs(stage)` is called for each stage that runs and returns its result and its jobs' output
    variables keyed `<job>.<step>.<variable>`: the caller runs the steps it wants to model for real.
    """
    stages = compiled["stages"]
    results: dict[str, str] = {}
    stage_outputs: dict[str, dict[str, str]] = {}
    for index, stage in enumerate(stages):
        name = stage["stage"]
        depends = stage.get("dependsOn", [stages[index - 1]["stage"]] if index else [])
        depends = [depends] if isinstance(depends, str) else list(depends)
        unknown = [d for d in depends if d not in results]
        if unknown:
            raise Unsupported(f"stage {name} depends on {unknown}, which come later or do not exist")
        dependencies = {d: {"result": results[d], "outputs": stage_outputs.get(d, {})} for d in depends}
        functions: dict[str, Callable[..., Any]] = {
            "and": lambda *a: all(a), "or": lambda *a: any(a), "not": lambda a: not a,
            "eq": _eq, "ne": lambda a, b: not _eq(a, b),
            "succeeded": lambda: all(results[d] == "Succeeded" for d in depends),
            "failed": lambda: any(results[d] == "Failed" for d in depends),
            "always": lambda: True,
        }
        condition = stage.get("condition", "succeeded()")
        runs = evaluate(condition, {"variables": variables, "dependencies": dependencies}, functions)
        if not isinstance(runs, bool):
            raise Unsupported(f"stage {name}: condition {condition!r} is not a boolean")
        if runs:
            results[name], stage_outputs[name] = outputs(stage)
        else:
            results[name] = "Skipped"
    return results


# ---- resources ---------------------------------------------------------------------------------------
def named_resources(compiled: dict[str, Any]) -> dict[str, set[str]]:
    """The service connections, agent pools and environments the compiled pipeline names, in every stage.

    The service resolves these for the whole run, whatever a stage's condition later decides: a name it
    cannot find or that is not authorized fails the run ("Authorize a YAML pipeline":
    https://learn.microsoft.com/azure/devops/pipelines/process/resources#authorize-a-yaml-pipeline).
    Connections are read from task inputs `azureSubscription` and template parameters `serviceConnection`.
    """
    found: dict[str, set[str]] = {"connections": set(), "pools": set(), "environments": set()}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            pool = node.get("pool")
            if isinstance(pool, dict) and isinstance(pool.get("name"), str):
                found["pools"].add(pool["name"])
            elif isinstance(pool, str):
                found["pools"].add(pool)
            environment = node.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if isinstance(environment, str):
                found["environments"].add(environment)
            for holder, key in (("inputs", "azureSubscription"), ("parameters", "serviceConnection")):
                value = node.get(holder, {}).get(key) if isinstance(node.get(holder), dict) else None
                if isinstance(value, str):
                    found["connections"].add(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(compiled)
    return found
