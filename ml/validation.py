"""Schema checks of a training file: columns, types, ranges, missing values, labels.

Plain Python (csv module): the pipeline runs this on its agent before it spends cluster time on
training, and it must not need scikit-learn to do so. The schema is `ml/config/schema.yaml`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.settings import ML_ROOT, safe_load

DEFAULT_SCHEMA = ML_ROOT / "config" / "schema.yaml"
# One line per kind of problem is enough to act on; a whole broken column is not listed cell by cell.
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: its type and the range a valid value lies in."""

    name: str
    """Column header."""
    type: str
    """`float` or `int`."""
    min: float
    """Smallest valid value (inclusive)."""
    max: float
    """Largest valid value (inclusive)."""


@dataclass(frozen=True)
class Schema:
    """What a training file must look like."""

    features: tuple[FeatureSpec, ...]
    """Feature columns, in the order the model takes them."""
    target: str
    """Label column."""
    target_values: tuple[int, ...]
    """The labels allowed in the target column."""
    min_rows: int
    """Fewer data rows than this is not a training set."""
    max_missing_fraction: float
    """Share of empty cells a feature column may have."""

    @property
    def feature_names(self) -> list[str]:
        """Feature column names, in model order."""
        return [f.name for f in self.features]


@dataclass(frozen=True)
class Table:
    """A CSV file as read: its header and its rows as text."""

    header: list[str]
    """Column names, in file order."""
    rows: list[dict[str, str]]
    """One mapping per data row, column name -> cell text."""

    def column(self, name: str) -> list[float]:
        """The column's numeric values (empty and unparsable cells skipped)."""
        values = []
        for row in self.rows:
            number = _parse(row.get(name, ""))
            if number is not None:
                values.append(number)
        return values


def load_schema(path: Path = DEFAULT_SCHEMA) -> Schema:
    """Read the schema file."""
    doc: dict[str, Any] = safe_load(Path(path).read_text())
    features = tuple(
        FeatureSpec(name=name, type=str(spec["type"]), min=float(spec["min"]), max=float(spec["max"]))
        for name, spec in doc["features"].items()
    )
    return Schema(features=features, target=str(doc["target"]["name"]),
                  target_values=tuple(int(v) for v in doc["target"]["values"]),
                  min_rows=int(doc["min_rows"]), max_missing_fraction=float(doc["max_missing_fraction"]))


def read_table(path: Path) -> Table:
    """Read a CSV file with a header row."""
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return Table(header=list(reader.fieldnames or []), rows=rows)


def _parse(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _examples(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:MAX_EXAMPLES])
    return f"line {shown}" + (f" and {len(lines) - MAX_EXAMPLES} more" if len(lines) > MAX_EXAMPLES else "")


def validate(table: Table, schema: Schema) -> list[str]:
    """Every way `table` breaks `schema`, one line each; an empty list means the file is valid.

    Checks, in order: the header has every feature and the target (extra columns are reported, since
    the model would silently ignore them); enough rows; per feature, the share of empty cells, cells
    that are not numbers (or not whole numbers for `int`), and values outside [min, max]; every
    label is one of the allowed values. Line numbers count the header as line 1, as an editor does.
    """
    problems: list[str] = []
    expected = [*schema.feature_names, schema.target]
    missing = [c for c in expected if c not in table.header]
    extra = [c for c in table.header if c not in expected]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s): {', '.join(extra)} (add them to ml/config/schema.yaml or drop them)")
    if len(table.rows) < schema.min_rows:
        problems.append(f"{len(table.rows)} data rows; at least {schema.min_rows} are needed")
    for spec in schema.features:
        if spec.name not in table.header:
            continue
        empty: list[int] = []
        not_number: list[int] = []
        out_of_range: list[int] = []
        for line, row in enumerate(table.rows, start=2):
            text = row.get(spec.name) or ""
            if text.strip() == "":
                empty.append(line)
                continue
            value = _parse(text)
            if value is None or (spec.type == "int" and not value.is_integer()):
                not_number.append(line)
            elif not spec.min <= value <= spec.max:
                out_of_range.append(line)
        if table.rows and len(empty) / len(table.rows) > schema.max_missing_fraction:
            problems.append(f"{spec.name}: {len(empty)} empty cell(s) ({_examples(empty)}); "
                            f"at most {schema.max_missing_fraction:.0%} allowed")
        if not_number:
            problems.append(f"{spec.name}: not a {spec.type} on {_examples(not_number)}")
        if out_of_range:
            problems.append(f"{spec.name}: outside [{spec.min:g}, {spec.max:g}] on {_examples(out_of_range)}")
    if schema.target in table.header:
        allowed = {str(v) for v in schema.target_values}
        bad = [line for line, row in enumerate(table.rows, start=2) if (row.get(schema.target) or "").strip() not in allowed]
        if bad:
            problems.append(f"{schema.target}: label not in {sorted(schema.target_values)} on {_examples(bad)}")
    return problems
