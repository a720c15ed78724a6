"""The forked process's side of tests/workers.py: what it sends the session process, and how the
session process rebuilds it.

The forked process relays its tests' log start/finish, pytest's serialized reports and its warnings
through a pipe (`Relay`), with capture files of its own (`own_capture`); the session process rebuilds
each warning (`warning_from`) and replays everything into its own hooks (tests/workers.py).
"""

from __future__ import annotations

import importlib
import warnings
from multiprocessing.connection import Connection
from typing import Any, Optional

import pytest


def own_capture(config: pytest.Config) -> None:
    """In the forked process: capture files of its own. pytest opened its capture files before
    collection, and a fork shares them: each process's tests would read the other's output."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    capturing = getattr(capture, "_global_capturing", None)
    if capture is None or capturing is None:
        return  # -s: nothing captured
    suspended = capturing._state == "suspended"  # noqa: SLF001 - pytest's own capture state
    capturing.stop_capturing()
    capture._global_capturing = None  # noqa: SLF001
    capture.start_global_capturing()
    if suspended:
        capture.suspend_global_capture()


def warning_from(data: dict[str, Any]) -> warnings.WarningMessage:
    try:
        module, _, name = data["category"].rpartition(".")
        category = getattr(importlib.import_module(module), name)
        message: Warning = category(data["message"])
    except Exception:  # a category that cannot be rebuilt here: its text, as a UserWarning
        category, message = UserWarning, UserWarning(f"{data['category']}: {data['message']}")
    return warnings.WarningMessage(message, category, data["filename"], data["lineno"])


class Relay:
    """In the forked process: what its tests report goes to the session process."""

    def __init__(self, config: pytest.Config, connection: Connection):
        self.config = config
        self.connection = connection

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, Optional[int], str]) -> None:
        self.connection.send(("logstart", nodeid, location))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self.connection.send(("report", data))

    @pytest.hookimpl
    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, Optional[int], str]) -> None:
        self.connection.send(("logfinish", nodeid, location))

    @pytest.hookimpl
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage, when: str, nodeid: str,
                                location: Optional[tuple[str, int, str]]) -> None:
        if when != "runtest":  # the session process collected and configured too, and saw its own
            return
        category = warning_message.category
        data = dict(category=f"{category.__module__}.{category.__qualname__}",
                    message=str(warning_message.message), filename=warning_message.filename,
                    lineno=warning_message.lineno)
        self.connection.send(("warning", data, when, nodeid, location))
