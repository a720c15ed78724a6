"""Tags merged once, applied to every taggable resource."""

from __future__ import annotations

from typing import Mapping

__all__ = ["platform_tags"]


def platform_tags(project: str, environment: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The platform's own tags, then the stack's; the stack cannot drop `environment` or `managed-by`."""
    return {**extra, "project": project, "environment": environment, "managed-by": "pulumi"}
