"""How the platform delivers itself: the branch->stack table (branches.yaml, stack_for_ref.py), which
stacks a pull request affects (affected_stacks.py), the one PR comment (pr_comment.py), and the Azure
pipeline's per-stack Deploy stages kept equal to the stack files (pipeline_stacks.py)."""

from __future__ import annotations

from isolated_mlops.yaml_text import safe_load

__all__ = ["safe_load"]  # delivery.safe_load: the CI tools' YAML reader
