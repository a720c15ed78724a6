"""tests/chromium_drawing.py: Chromium's drawings and Mermaid's verdicts are kept for later sessions
under what they were drawn from, read into each session's own folder, and only when they succeeded.
Stand-ins for the browser and the drawings: no Chromium starts here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import chromium_drawing
from tests.chromium_drawing import KEPT_DRAWINGS, Rendering, drawing_key, forget_old, keep, read_kept


def _stand_in_browser(folder: Path, version: str) -> str:
    script = folder / "chromium"
    script.write_text(f"#!/bin/sh\necho '{version}'\n")
    script.chmod(0o755)
    return str(script)


def test_the_key_is_what_the_drawings_are_made_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """It changes with a diagram's text or name, the code that wrote them, the browser's version and an
    installed font, and with nothing else."""
    fonts = tmp_path / "fonts"
    (fonts / "truetype").mkdir(parents=True)
    monkeypatch.setattr(chromium_drawing, "FONT_FOLDERS", (str(fonts),))
    diagram, code = tmp_path / "a.mmd", tmp_path / "test_x.py"
    diagram.write_text("flowchart LR\n  a --> b\n")
    code.write_text("x = 1\n")
    browser_path = _stand_in_browser(tmp_path, "Chromium 156.0.1")
    key = drawing_key(browser_path, [diagram], [code])
    assert drawing_key(browser_path, [diagram], [code]) == key, "the same inputs, the same key"
    diagram.write_text("flowchart LR\n  a --> c\n")
    assert drawing_key(browser_path, [diagram], [code]) != key
    diagram.write_text("flowchart LR\n  a --> b\n")
    renamed = tmp_path / "b.mmd"
    renamed.write_text(diagram.read_text())
    assert drawing_key(browser_path, [renamed], [code]) != key, "the verdicts name each file"
    code.write_text("x = 2\n")
    assert drawing_key(browser_path, [diagram], [code]) != key, "the diagrams are made another way"
    code.write_text("x = 1\n")
    assert drawing_key(_stand_in_browser(tmp_path, "Chromium 157.0.1"), [diagram], [code]) != key
    browser_path = _stand_in_browser(tmp_path, "Chromium 156.0.1")
    assert drawing_key(browser_path, [diagram], [code]) == key
    (fonts / "truetype" / "new.ttf").write_bytes(b"font")
    os.utime(fonts / "truetype", ns=(1, 1))
    assert drawing_key(browser_path, [diagram], [code]) != key, "a font installed: text is measured anew"


def test_kept_drawings_are_read_into_the_sessions_folder_and_a_failed_one_is_not_kept(tmp_path: Path):
    names, kept = ["topology", "created"], tmp_path / "cache" / "key"
    kept.parent.mkdir()
    first = tmp_path / "first"
    first.mkdir()
    for index in (1, 2):
        (first / f"out-{index}.svg").write_text(f"<svg>{index}</svg>")
    parsed = [first / "parsed" / "a.mmd"]
    keep(Rendering(None, first / "out.md", names, parsed, output=f"{parsed[0]}: OK\n"), kept)

    later = tmp_path / "later"
    later.mkdir()
    read_again = read_kept(kept, later / "out.md", names, [later / "parsed" / "a.mmd"])
    assert read_again is not None and read_again.process is None
    assert read_again.finish() == f"{later / 'parsed' / 'a.mmd'}: OK\n", "the verdicts name this session's files"
    assert [(later / f"out-{i}.svg").read_text() for i in (1, 2)] == ["<svg>1</svg>", "<svg>2</svg>"]
    assert read_kept(tmp_path / "cache" / "other", later / "out.md", names, []) is None

    # A drawing that failed is told, and nothing of it is kept.
    failing = subprocess.Popen(["sh", "-c", "echo broken >&2; exit 1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (first / "out-puppeteer.json").write_text("{}")
    never = tmp_path / "cache" / "never"
    with pytest.raises(AssertionError, match="broken"):
        Rendering(failing, first / "out.md", names, parsed, keep_in=never).finish()
    assert not never.exists()


def test_a_session_reads_what_an_earlier_one_drew_and_starts_no_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`start`, twice with the same inputs: the first draws (a stand-in for draw.mjs) and keeps, the
    second reads what was kept."""
    monkeypatch.setattr(chromium_drawing, "FONT_FOLDERS", ())
    browser_path = _stand_in_browser(tmp_path, "Chromium 156.0.1")
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        if argv[0] != "node":  # the browser's --version
            return real_popen(argv, **kwargs)  # type: ignore[call-overload]
        started.append(argv)
        out = Path(argv[4])
        (out.parent / f"{out.stem}-1.svg").write_text("<svg/>")
        return subprocess.Popen(["sh", "-c", f"echo '{argv[5]}: OK'"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    monkeypatch.setattr(chromium_drawing.subprocess, "Popen", popen)
    cache = tmp_path / "cache"
    cache.mkdir()
    for session in ("one", "two"):
        folder = tmp_path / session
        (folder / "parsed").mkdir(parents=True)
        page, diagram = folder / "pictures.md", folder / "parsed" / "a.mmd"
        page.write_text("```mermaid\nflowchart LR\n  a --> b\n```\n")
        diagram.write_text("flowchart LR\n  a --> b\n")
        rendering = chromium_drawing.start(cache, browser_path, page, [diagram], folder / "out.md", ["topology"], [])
        assert rendering.finish() == f"{diagram}: OK\n" and (folder / "out-1.svg").read_text() == "<svg/>"
    assert len(started) == 1, "the second session started no browser"


def test_only_the_last_few_drawings_are_kept(tmp_path: Path):
    for age in range(5):
        (tmp_path / f"old{age}").mkdir()
        os.utime(tmp_path / f"old{age}", (1000 + age, 1000 + age))
    (tmp_path / "now").mkdir()
    forget_old(tmp_path, tmp_path / "now")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["now", *[f"old{4 - i}" for i in range(KEPT_DRAWINGS - 1)]])
