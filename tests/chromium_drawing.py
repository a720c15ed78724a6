"""Mermaid in Chromium for the topology tests (tests/test_offline_topology.py): the browser, and
tests/mermaid/draw.mjs started in the background to parse every diagram and draw the pictures.

Chromium, started and drawing, costs ~2.5 s of CPU and ~3 s of one test process, and what it
returns is a function of what it is given and what it is. So the drawings and the parser's verdicts
are kept in pytest's cache (CACHE_FOLDER), under a key of:
- each diagram's name and text (the verdicts name each file);
- tests/mermaid's script and Puppeteer settings, its package files, and the versions npm installed
  (TOOL_FILES); this file, as it was imported (the code that writes the diagrams counts only through
  their text);
- the browser's version and where it is, and Node.js's;
- the fonts Chromium measures text with and how it finds them: each file and folder of FONT_FOLDERS
  (the system's and the user's fontconfig settings and fonts, Debian's Chromium flags), by size and
  time, and the variables fontconfig and the locale read (SETTINGS).
A later session with the same key reads them instead of starting Chromium, as tests/shared_runs.py
keeps the program's runs; a fresh clone (CI) and `--cache-clear` draw them again. Only a drawing that
succeeded is kept, and a kept one that does not read back whole (a whole line of verdict per
diagram, a closed SVG per picture) is drawn again. The last KEPT_DRAWINGS keys stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.shared_runs import keep_recent, source_key
from tests.topology_drawing import MERMAID_DIR

MMDC = MERMAID_DIR / "node_modules" / ".bin" / "mmdc"
PUPPETEER_CONFIG = MERMAID_DIR / "puppeteer-config.json"
DRAW = MERMAID_DIR / "draw.mjs"
_INSTALLED = MERMAID_DIR / "node_modules"
TOOL_FILES = (DRAW, PUPPETEER_CONFIG, MERMAID_DIR / "package.json", MERMAID_DIR / "package-lock.json",
              _INSTALLED / ".package-lock.json", _INSTALLED / "mermaid" / "package.json",
              _INSTALLED / "@mermaid-js" / "mermaid-cli" / "package.json", _INSTALLED / "puppeteer" / "package.json",
              _INSTALLED / "puppeteer-core" / "package.json")
NODE = "node"
OWN_SOURCE = source_key(Path(__file__))
"""This file's text as it was imported."""
KEPT_DRAWINGS = 3
CACHE_FOLDER = "mermaid-drawings"
"""The folder of pytest's cache they are kept in (benchmarks/suite.py drops it for a changed program)."""
# What decides how Chromium draws text, besides the diagrams: fontconfig's settings and fonts, the
# system's and the user's (/etc/fonts/conf.d/50-user.conf names the user's places), the variables
# fontconfig and the locale read, and the flags Debian's wrapper adds from /etc/chromium.d.
FONT_FOLDERS = ("/etc/fonts", "/usr/share/fonts", "/usr/local/share/fonts", "/etc/chromium.d", "~/.fonts",
                "~/.fonts.conf", "~/.fonts.conf.d", "$XDG_CONFIG_HOME/fontconfig", "~/.config/fontconfig",
                "$XDG_DATA_HOME/fonts", "~/.local/share/fonts")
SETTINGS = ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "FONTCONFIG_SYSROOT", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE")
_FOLDER = "\0folder\0"
"""The session's own folder, in kept verdicts (they name each diagram's file)."""


def browser() -> Optional[str]:
    """Debian's Chromium, as tests/mermaid/puppeteer-config.json names it (`.ci/run` installs it), or
    else a Chromium or Chrome the machine has (GitHub's Ubuntu runners have Chrome, not Chromium)."""
    named = json.loads(PUPPETEER_CONFIG.read_text())["executablePath"]
    for candidate in (named, shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def puppeteer_config(out: Path, browser_path: str) -> Path:
    """tests/mermaid/puppeteer-config.json pointed at the browser found here, beside `out`."""
    config = out.parent / f"{out.stem}-puppeteer.json"
    config.write_text(json.dumps({**json.loads(PUPPETEER_CONFIG.read_text()), "executablePath": browser_path}))
    return config


@dataclass
class Rendering:
    """tests/mermaid/draw.mjs at work in the background: Mermaid's parser on every diagram (`parsed`),
    then Mermaid drawing the pictures (`names`) into `out`-1.svg, `out`-2.svg... as mermaid-cli does,
    in the same page of one Chromium. Or what it did in an earlier session with the same key
    (`process` None)."""

    process: Optional[subprocess.Popen[bytes]]
    out: Path
    names: list[str]
    parsed: list[Path]
    output: Optional[str] = None
    keep_in: Optional[Path] = None
    """Where this session keeps its drawings and verdicts for later ones, once they are made."""

    def finish(self) -> str:
        """The parser's verdicts, once the drawing is done (asserts it succeeded)."""
        if self.output is None:
            assert self.process is not None
            stdout, errors = self.process.communicate(timeout=180)
            (self.out.parent / f"{self.out.stem}-puppeteer.json").unlink()
            assert self.process.returncode == 0, errors.decode()
            self.output = stdout.decode()
            if self.keep_in is not None:
                with contextlib.suppress(OSError):  # a full disk: this session's drawing stands, unkept
                    keep(self, self.keep_in)
        return self.output


def start(cache_root: Optional[Path], browser_path: str, page: Path, parsed: list[Path], out: Path,
          names: list[str]) -> Rendering:
    """Draw every ```mermaid block of `page` (`names`, in order) and parse each file of `parsed`:
    read from `cache_root` when kept there, else started in the background."""
    kept = None
    if cache_root is not None:
        kept = cache_root / drawing_key(browser_path, [page, *parsed])
        keep_recent(cache_root, kept, KEPT_DRAWINGS)
        earlier = read_kept(kept, out, names, parsed)
        if earlier is not None:
            return earlier
    config = puppeteer_config(out, browser_path)
    process = subprocess.Popen([NODE, str(DRAW), str(config), str(page), str(out), *map(str, parsed)],
                               cwd=MERMAID_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return Rendering(process, out, names, parsed, keep_in=kept)


def drawing_key(browser_path: str, drawn: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in drawn:
        digest.update(f"\0{file.name}\0".encode() + file.read_bytes())
    digest.update(f"\0{source_key(*TOOL_FILES)}\0{OWN_SOURCE}".encode())
    for program in (browser_path, shutil.which(NODE) or NODE):
        version = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=60)
        digest.update(f"\0{os.path.realpath(program)}\0{version.stdout}".encode())
    for top in FONT_FOLDERS:
        place = os.path.expanduser(os.path.expandvars(top))  # a variable not set leaves a path not there
        walked = os.walk(place) if os.path.isdir(place) else [(os.path.dirname(place), [], [os.path.basename(place)])]
        for folder, _, files in walked:
            for path in [folder, *(os.path.join(folder, name) for name in sorted(files))]:
                with contextlib.suppress(OSError):  # not there, or a dangling link
                    found = os.stat(path)
                    digest.update(f"\0{path}\0{found.st_size}\0{found.st_mtime_ns}".encode())
    digest.update(repr([(name, os.environ.get(name)) for name in SETTINGS]).encode())
    return digest.hexdigest()[:24]


def keep(rendering: Rendering, kept: Path) -> None:
    """The drawings and verdicts of a finished rendering, into `kept` at once (another session may
    be keeping the same)."""
    assert rendering.output is not None
    staging = kept.with_name(f"{kept.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for index in range(1, len(rendering.names) + 1):
        shutil.copy(rendering.out.parent / f"{rendering.out.stem}-{index}.svg", staging / f"out-{index}.svg")
    (staging / "verdicts.txt").write_text(rendering.output.replace(str(rendering.out.parent), _FOLDER))
    try:
        os.replace(staging, kept)
    except OSError:  # kept by another session first
        shutil.rmtree(staging, ignore_errors=True)


def read_kept(kept: Path, out: Path, names: list[str], parsed: list[Path]) -> Optional[Rendering]:
    """What an earlier session kept in `kept`, copied where this one's drawing would be; None if
    nothing is, or if it does not read back whole (then it is removed, to be drawn again)."""
    if not kept.is_dir():
        return None
    try:
        verdicts = (kept / "verdicts.txt").read_text()
        drawings = [(kept / f"out-{index}.svg").read_text() for index in range(1, len(names) + 1)]
    except (OSError, UnicodeDecodeError):
        verdicts, drawings = "", []
    whole_verdicts = len(verdicts.splitlines()) == len(parsed) and verdicts.endswith("\n")
    whole_drawings = len(drawings) == len(names) and all(
        "<svg" in drawing and drawing.rstrip().endswith("</svg>") for drawing in drawings)
    if not (whole_verdicts and whole_drawings):
        shutil.rmtree(kept, ignore_errors=True)
        return None
    for index, drawing in enumerate(drawings, start=1):
        (out.parent / f"{out.stem}-{index}.svg").write_text(drawing)
    os.utime(kept)
    return Rendering(None, out, names, parsed, verdicts.replace(_FOLDER, str(out.parent)))
