"""tests/chromium_drawing.py: Chromium's drawings and Mermaid's verdicts are kept for later sessions
under what they were drawn from, read into each session's own folder, and only when they succeeded.
Stand-ins for the browser and the drawings: no Chromium starts here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import chromium_drawing
from tests.chromium_drawing import KEPT_DRAWINGS, Rendering, drawing_key, keep, read_kept
from tests.shared_runs import keep_recent, source_key


def _stand_in_browser(folder: Path, version: str) -> str:
    script = folder / "chromium"
    script.write_text(f"#!/bin/sh\necho '{version}'\n")
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def stand_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The key's inputs as files of their own: a diagram, the tools, a font folder, Node.js, the browser."""
    made = {"diagram": tmp_path / "a.mmd", "fonts": tmp_path / "fonts"}
    made["diagram"].write_text("flowchart LR\n  a --> b\n")
    (made["fonts"] / "truetype").mkdir(parents=True)
    (made["fonts"] / "truetype" / "a.ttf").write_bytes(b"font")
    tools = []
    for index, tool in enumerate(chromium_drawing.TOOL_FILES):
        made[f"tool-{index}"] = tmp_path / "tools" / str(index) / tool.name
        made[f"tool-{index}"].parent.mkdir(parents=True)
        made[f"tool-{index}"].write_text(f"{tool.name} 1\n")
        tools.append(made[f"tool-{index}"])
    monkeypatch.setattr(chromium_drawing, "TOOL_FILES", tuple(tools))
    made["user fonts.conf"] = tmp_path / "home" / ".fonts.conf"
    made["user fonts.conf"].parent.mkdir()
    made["user fonts.conf"].write_text("<fontconfig/>\n")
    monkeypatch.setattr(chromium_drawing, "FONT_FOLDERS", (str(made["fonts"]), str(made["user fonts.conf"]),
                                                           "$UNSET_FOR_THE_TEST/fonts"))
    monkeypatch.delenv("UNSET_FOR_THE_TEST", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    (tmp_path / "bin").mkdir()
    made["node"] = Path(_stand_in_browser(tmp_path / "bin", "v20.1.0")).rename(tmp_path / "bin" / "node")
    monkeypatch.setattr(chromium_drawing, "NODE", str(made["node"]))
    made["browser"] = Path(_stand_in_browser(tmp_path, "Chromium 156.0.1"))
    return made


def _key(made: dict[str, Path]) -> str:
    return drawing_key(str(made["browser"]), [made["diagram"]])


def test_the_same_inputs_make_the_same_key(stand_ins: dict[str, Path]):
    assert _key(stand_ins) == _key(stand_ins)


@pytest.mark.parametrize("change", ["diagram", "diagram's name", "helper", "browser", "browser moved", "node", "font",
                                    "font setting", "user's font setting", "locale"])
def test_each_input_of_a_drawing_changes_its_key(stand_ins: dict[str, Path], change: str,
                                                 monkeypatch: pytest.MonkeyPatch):
    before = _key(stand_ins)
    if change == "diagram":
        stand_ins["diagram"].write_text("flowchart LR\n  a --> c\n")
    elif change == "diagram's name":  # the verdicts name each file
        stand_ins["diagram"] = stand_ins["diagram"].rename(stand_ins["diagram"].with_name("b.mmd"))
    elif change == "helper":  # this helper changed: they are drawn another way
        monkeypatch.setattr(chromium_drawing, "OWN_SOURCE", "another text")
    elif change == "browser":
        _stand_in_browser(stand_ins["browser"].parent, "Chromium 157.0.1")
    elif change == "browser moved":  # the same version, another build
        moved = stand_ins["browser"].parent / "elsewhere" / "chromium"
        moved.parent.mkdir()
        stand_ins["browser"].rename(moved)
        stand_ins["browser"].symlink_to(moved)
    elif change == "node":
        stand_ins["node"].write_text("#!/bin/sh\necho v22.0.0\n")
    elif change == "font":  # a font installed: text is measured anew
        (stand_ins["fonts"] / "truetype" / "b.ttf").write_bytes(b"font")
    elif change == "font setting":  # a file edited in place, its folder's time unchanged
        (stand_ins["fonts"] / "truetype" / "a.ttf").write_bytes(b"font, hinted")
    elif change == "user's font setting":  # a file, not a folder: ~/.fonts.conf
        stand_ins["user fonts.conf"].write_text("<fontconfig><alias/></fontconfig>\n")
    elif change == "locale":  # fontconfig matches fonts by language
        monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert _key(stand_ins) != before, change


@pytest.mark.parametrize("index", range(len(chromium_drawing.TOOL_FILES)))
def test_each_tool_file_changes_the_key(stand_ins: dict[str, Path], index: int):
    before = _key(stand_ins)
    stand_ins[f"tool-{index}"].write_text("changed\n")
    assert _key(stand_ins) != before, chromium_drawing.TOOL_FILES[index].name


def test_the_key_covers_this_helper_and_the_tools_it_runs():
    names = {(tool.parent.name, tool.name) for tool in chromium_drawing.TOOL_FILES}
    assert {("mermaid", "draw.mjs"), ("mermaid", "puppeteer-config.json"), ("mermaid", "package-lock.json"),
            ("node_modules", ".package-lock.json"), ("mermaid", "package.json"), ("mermaid-cli", "package.json"),
            ("puppeteer", "package.json")} <= names
    assert chromium_drawing.OWN_SOURCE == source_key(Path(chromium_drawing.__file__))


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
    monkeypatch.setattr(chromium_drawing, "NODE", "stand-in-node")
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        if argv[-1] == "--version":  # the browser's and Node's
            return real_popen(["echo", "v20"] if argv[0] == "stand-in-node" else argv, **kwargs)  # type: ignore[call-overload]
        started.append(argv)
        out = Path(argv[4])
        (out.parent / f"{out.stem}-1.svg").write_text("<svg></svg>")
        return real_popen(["sh", "-c", f"echo '{argv[5]}: OK'"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    monkeypatch.setattr(chromium_drawing.subprocess, "Popen", popen)
    cache = tmp_path / "cache"
    cache.mkdir()
    for session in ("one", "two"):
        folder = tmp_path / session
        (folder / "parsed").mkdir(parents=True)
        page, diagram = folder / "pictures.md", folder / "parsed" / "a.mmd"
        page.write_text("```mermaid\nflowchart LR\n  a --> b\n```\n")
        diagram.write_text("flowchart LR\n  a --> b\n")
        rendering = chromium_drawing.start(cache, browser_path, page, [diagram], folder / "out.md", ["topology"])
        assert rendering.finish() == f"{diagram}: OK\n" and (folder / "out-1.svg").read_text() == "<svg></svg>"
    assert len(started) == 1, "the second session started no browser"


def test_only_the_last_few_drawings_are_kept_and_a_half_written_one_goes_after_an_hour(tmp_path: Path):
    for age in range(5):
        (tmp_path / f"old{age}").mkdir()
        os.utime(tmp_path / f"old{age}", (1000 + age, 1000 + age))
    (tmp_path / "now").mkdir()
    (tmp_path / "stopped.123.partial").mkdir()
    os.utime(tmp_path / "stopped.123.partial", (1000, 1000))
    (tmp_path / "drawing.456.partial").mkdir()  # another session keeping it now
    keep_recent(tmp_path, tmp_path / "now", KEPT_DRAWINGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["now", "drawing.456.partial", *[f"old{4 - i}" for i in range(KEPT_DRAWINGS - 1)]])


@pytest.mark.parametrize("damage", ["a verdict missing", "a verdict cut short", "a picture empty",
                                    "a picture cut short", "a picture missing"])
def test_a_kept_drawing_that_does_not_read_back_whole_is_removed_and_drawn_again(tmp_path: Path, damage: str):
    kept, names, parsed = tmp_path / "key", ["topology", "created"], [tmp_path / "a.mmd", tmp_path / "b.mmd"]
    kept.mkdir()
    (kept / "verdicts.txt").write_text("a.mmd: OK\nb.mmd: OK\n")
    for index in (1, 2):
        (kept / f"out-{index}.svg").write_text('<svg viewBox="0 0 1 1"></svg>\n')
    assert read_kept(kept, tmp_path / "out.md", names, parsed) is not None
    if damage == "a verdict missing":
        (kept / "verdicts.txt").write_text("a.mmd: OK\n")
    elif damage == "a verdict cut short":
        (kept / "verdicts.txt").write_text("a.mmd: OK\nb.mmd: O")
    elif damage == "a picture cut short":
        (kept / "out-2.svg").write_text('<svg viewBox="0 0 1 1"><g class="node"')
    elif damage == "a picture empty":  # the machine stopped before the file reached the disk
        (kept / "out-2.svg").write_text("")
    else:
        (kept / "out-2.svg").unlink()
    assert read_kept(kept, tmp_path / "out.md", names, parsed) is None
    assert not kept.exists()


def test_a_drawing_that_cannot_be_kept_still_stands(tmp_path: Path):
    """A full disk, say: the session's own drawing is used, and nothing is kept."""
    done = subprocess.Popen(["sh", "-c", "echo 'a.mmd: OK'"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    (tmp_path / "out-puppeteer.json").write_text("{}")
    # out-1.svg was never written: keeping it fails.
    rendering = Rendering(done, tmp_path / "out.md", ["topology"], [tmp_path / "a.mmd"], keep_in=tmp_path / "cache" / "key")
    assert rendering.finish() == "a.mmd: OK\n"
    assert not (tmp_path / "cache" / "key").exists()
