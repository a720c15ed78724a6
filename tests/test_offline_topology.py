"""`python -m offline diagram`: the picture of a change, the CLI, the pull-request comment, Mermaid's
own parser, and the drawing in a real browser (with docs/topology.md and its PNG kept in step).

Each test reads the Mermaid text back into boxes, nodes and arrows (tests/topology_drawing.py). The
picture of one stack, drawn from the registrations and showing what breaks:
tests/test_offline_topology_drawn.py.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from isolated_mlops.components import catalogue
from isolated_mlops.components.zones import CLOUDS
from offline import diff, graph, topology
from offline.engine import PROJECT_DIR, RegisteredResource, StackRun
from isolated_mlops.policy import rules
from tests import chromium_drawing, variants
from tests.chromium_drawing import MMDC, Rendering, browser, puppeteer_config
from tests.topology_drawing import MERMAID_DIR, Drawing, _last, _name, _typed, broken, draw, read  # noqa: F401


# ------------------------------------------------------------------------------------------------
# The picture of a change
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fewer_agents(run_with) -> StackRun:
    """Prod with one agent VM less (the same run as test_offline_cli's and test_offline_cost's one
    agent): from prod to it, a typical deletion; from it to prod, a typical one-resource creation."""
    return run_with("prod", lambda v: v["agents"].update(count=1))


def change(old: StackRun, new: StackRun) -> tuple[Drawing, int]:
    """The change's picture as the pull-request comment draws it, read back, and its node count."""
    stack_diff = diff.compare(old, new)
    kinds = {c.new.urn: c.kind for c in stack_diff.changes if c.new is not None}
    deleted = [c.old for c in stack_diff.changes if c.kind == "delete" and c.old is not None]
    text, count = topology.change_picture(old, new, kinds, deleted)
    return read(text), count


def _resource_nodes(drawing: Drawing) -> set[str]:
    return {i for i in drawing.labels if i not in drawing.boxes and not i.startswith("legend")} - {
        topology.INTERNET, topology.ELSEWHERE_NODE}


def test_a_one_resource_change_draws_it_with_its_neighbours_only(prod):
    nsg = next(r for r in prod.resources if r.name == "access-network-nsg-jumpHost")

    def widen_ssh(resources):
        [changed] = [r for r in resources if r.urn == nsg.urn]
        for inputs in (changed.inputs, changed.masked_inputs):  # what the picture reads, and what the diff compares
            inputs["securityRules"][0]["destinationPortRange"] = "22-23"
        return resources

    drawing, count = change(prod, broken(prod, widen_ssh))
    jump = drawing.one("snet-jump-host ")
    assert drawing.styled[jump] == topology.BOX_STYLES["update"], "the NSG's change is on the subnet it guards"
    assert drawing.labels[drawing.one("VM vm-jump")] and drawing.arrows(target=jump)[0][2] == "Tcp 22-23 allowed"
    assert count == len(_resource_nodes(drawing)) <= 15, drawing.text
    assert not drawing.ids("PE ") and not drawing.ids("AML workspace"), "the rest of the platform stays out"


def test_a_resized_vm_is_drawn_alone_in_its_subnet(prod, run_with):
    # test_offline_cost's and test_offline_cli's run: the jump host resized, and cost assumptions the
    # program ignores (tests/variants.py).
    drawing, count = change(prod, run_with("prod", variants.prod_resized_and_busy))
    vm = drawing.one("VM vm-jump-mlops-prod")
    assert drawing.classes["update"] == {vm} and variants.RESIZED_JUMP_HOST in drawing.labels[vm]
    assert count == len(_resource_nodes(drawing)) <= 15


def test_a_created_vm_is_drawn_with_its_subnet_and_who_may_reach_it(prod, fewer_agents):
    drawing, count = change(fewer_agents, prod)
    created = drawing.one("VM vm-agent1-mlops-prod")
    assert drawing.classes["create"] == {created}
    assert drawing.labels[drawing.box_of(created)].startswith("snet-agents ")
    [(source, _, label, _)] = drawing.arrows(target=drawing.box_of(created))
    assert drawing.labels[source].startswith("AzureBastionSubnet ") and label == "Tcp 22 allowed"
    assert count <= 15 and drawing.legend == set(topology.LEGEND) == set(topology.CLASS_STYLES)


def test_a_deleted_vm_is_a_struck_through_ghost_where_it_was(prod, fewer_agents):
    fewer = fewer_agents
    drawing, count = change(prod, fewer)
    [ghost] = drawing.classes["delete"]
    assert drawing.labels[ghost].startswith("<s>VM vm-agent1-mlops-prod") and drawing.labels[ghost].endswith("</s>")
    assert "ci-agents-1-nic" in drawing.labels[ghost], "what went with it is named"
    assert drawing.labels[drawing.box_of(ghost)].startswith("snet-agents ") and count <= 15


def test_a_deleted_peering_is_a_ghost_in_the_vnet_that_declared_it(prod):
    old_side = [r for r in prod.resources if r.name.endswith("bastion-to-aml")]
    drawing, count = change(prod, broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")]))
    [ghost] = drawing.classes["delete"]
    assert drawing.labels[ghost] == f"<s>VirtualNetworkPeering {old_side[0].name}</s>"
    vnet = drawing.box_of(ghost)
    assert drawing.labels[vnet].startswith("VNet vnet-bastion-mlops-prod ") and "ONE WAY ONLY" in drawing.labels[vnet]
    assert drawing.styled[vnet] == topology.BOX_STYLES["update"] and count <= 15


def test_containers_are_filled_only_by_nothing(prod, fewer_agents):
    for drawing in (draw(prod), change(fewer_agents, prod)[0]):
        assert drawing.styled and all(style.startswith("fill:none") for style in drawing.styled.values())


def test_a_renamed_environment_is_one_caption_and_the_picture_shows_the_rest(dev, prod):
    stack_diff = diff.compare(dev, prod)
    cause = diff.common_cause(stack_diff)
    assert cause is not None and (cause.old, cause.new) == ("dev", "prod")
    both_sides = [c for c in stack_diff.changes if c.kind in ("update", "replace")]
    assert len(cause.explained) * 2 >= len(both_sides) and "\n" not in cause.caption()
    report = diff.Report(stack_diff, dev, prod, "dev", "prod", findings=[], rules_run=0)
    markdown = diff.render_markdown(report, "cmd")
    assert cause.caption() in markdown.split("<details")[0], "the caption comes before the details"
    [block] = _mermaid_blocks(markdown)
    drawing = read(block)
    # Every deleted resource is drawn (struck through); nothing the rename alone explains is coloured.
    deleted = [c.old for c in stack_diff.changes if c.kind == "delete" and c.old is not None and c.old.custom]
    assert deleted and all(any(_name(r) in drawing.labels[g] for g in drawing.classes["delete"]) for r in deleted)
    links = [c.new for c in stack_diff.changes if c.kind == "replace" and c.new and c.new.type == topology.ZONE_LINK]
    assert links and all(diff.resource_key(r.urn) in cause.explained for r in links)
    # Two stacks: the legend says what the table says, nothing is "deleted" or "created".
    assert (drawing.labels["legend_delete"], drawing.labels["legend_create"]) == ("<s>only in dev</s>", "only in prod")


def test_a_renamed_stack_is_one_caption_and_a_small_picture(prod, run_with):
    renamed = run_with("prod", lambda v: v.update(namePrefix="mlp"))
    stack_diff = diff.compare(prod, renamed)
    cause = diff.common_cause(stack_diff)
    assert cause is not None and (cause.old, cause.new) == ("mlops", "mlp")
    assert cause.caption().startswith(f"{len(cause.explained)} of {len(stack_diff.changes)} changes have one cause: "
                                      "`mlops` becomes `mlp` in names and ids (")
    rest = {c.new.urn: c.kind for c in stack_diff.changes
            if c.new is not None and diff.resource_key(c.new.urn) not in cause.explained}
    text, count = topology.change_picture(prod, renamed, rest)
    # 16: the serving cluster's three role grants change principal with the rename, as the others do.
    assert count <= 16, text


def test_no_common_cause_for_an_ordinary_change(prod, fewer_agents):
    assert diff.common_cause(diff.compare(fewer_agents, prod)) is None


# ------------------------------------------------------------------------------------------------
# The CLI, the pull-request comment, and Mermaid's own parser
# ------------------------------------------------------------------------------------------------
def test_cli_diagram_draws_the_topology_by_default(prod, runs, monkeypatch, capsys):
    import offline.__main__ as command_line

    monkeypatch.setattr(command_line, "run_stack", lambda stack, project_dir=PROJECT_DIR: runs[stack])
    assert command_line.main(["diagram", "--stack", "prod"]) == 0
    assert capsys.readouterr().out == topology.mermaid(prod)
    assert command_line.main(["diagram", "--stack", "prod", "--view", "dependencies"]) == 0
    path = graph.critical_path(graph.DependencyGraph.of(prod))
    assert capsys.readouterr().out == graph.mermaid(prod, highlight=[s.resource.urn for s in path.steps])


def _mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def _comment_picture(old: StackRun, new: StackRun) -> str:
    report = diff.Report(diff.compare(old, new), old, new, "main", "this branch", findings=[], rules_run=0)
    [block] = _mermaid_blocks(diff.render_markdown(report, "cmd"))
    return block


def test_the_pull_request_comment_draws_the_change_not_the_whole_topology(prod, fewer_agents):
    drawing = read(_comment_picture(fewer_agents, prod))
    assert drawing.classes["create"] == {drawing.one("VM vm-agent1-mlops-prod")}
    assert not drawing.ids("PE "), "endpoints are not the change's neighbours"


def _diagrams_to_parse(runs: dict[str, StackRun], prod: StackRun, fewer_agents: StackRun, folder: Path) -> list[Path]:
    """Every diagram the CLI draws and every one the docs show, one file each, and last a broken one."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for stack, run in runs.items():
        files.append(folder / f"{stack}-topology.mmd")
        files[-1].write_text(topology.mermaid(run))
        path = graph.critical_path(graph.DependencyGraph.of(run))
        files.append(folder / f"{stack}-dependencies.mmd")
        files[-1].write_text(graph.mermaid(run, highlight=[s.resource.urn for s in path.steps]))
    pictures = {"more-agents": (fewer_agents, prod),
                "fewer-agents": (prod, fewer_agents),
                "peering-deleted": (prod, broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")])),
                "dev-to-prod": (runs["dev"], prod)}
    for name, (old, new) in pictures.items():
        files.append(folder / f"pull-request-{name}.mmd")
        files[-1].write_text(_comment_picture(old, new))
    # The diagrams people read in the repository, hand-drawn or generated.
    for page in [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]:
        for index, block in enumerate(_mermaid_blocks(page.read_text())):
            files.append(folder / f"{page.stem}-{index}.mmd")
            files[-1].write_text(block)
    assert any(f.name.startswith("README-") for f in files) and any(f.name.startswith("topology-") for f in files)
    files.append(folder / "broken.mmd")  # proves the parser can say no
    files[-1].write_text("flowchart LR\n  a[x] --> \n")
    return files


def test_mermaid_parses_every_diagram_the_cli_draws_and_the_docs_show(rendering, runs, prod, tmp_path, fewer_agents):
    if rendering is not None:
        # Parsed in the browser that draws the pictures below (tests/mermaid/draw.mjs).
        files, output = rendering.parsed, rendering.finish()
    else:
        # No Chromium: Mermaid's parser in Node, with jsdom for the DOM it sanitises labels with.
        node = shutil.which("node")
        if node is None or not (MERMAID_DIR / "node_modules" / "mermaid").is_dir():
            if os.environ.get("CI"):
                pytest.fail("node or tests/mermaid/node_modules is missing: `make test` installs them")
            pytest.skip("needs Node.js and `npm ci --prefix tests/mermaid` (make test does it)")
        files = _diagrams_to_parse(runs, prod, fewer_agents, tmp_path)
        output = subprocess.run([node, str(MERMAID_DIR / "parse.mjs"), *map(str, files)], capture_output=True,
                                text=True, cwd=MERMAID_DIR, timeout=120).stdout
    verdicts = dict(line.rsplit(": ", 1) if line.endswith(": OK") else line.split(": ", 1)
                    for line in output.splitlines())
    assert not verdicts.pop(str(files[-1])) == "OK", "the parser accepted a broken diagram"
    assert verdicts == {str(f): "OK" for f in files[:-1]}, output


def test_docs_topology_is_prods_diagram_as_drawn_today(prod):
    page = PROJECT_DIR / "docs" / "topology.md"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        page.write_text(topology.document(prod))
        pytest.skip("rewrote docs/topology.md: review the diff and commit it")
    assert page.exists() and page.read_text() == topology.document(prod), (
        "docs/topology.md is out of date: the topology changed. Regenerate it with `UPDATE_SNAPSHOTS=1 make test` "
        "and commit it, so the pull request shows the picture change.")
    moved = broken(prod, lambda rs: [r for r in rs if not r.name.endswith("bastion-to-aml")])
    assert topology.document(moved) != page.read_text(), "a topology change would not show in the page"
    assert "](topology.png)" in page.read_text() and (PROJECT_DIR / "docs" / "topology.png").is_file()


# ------------------------------------------------------------------------------------------------
# Drawn in a real browser: Mermaid's own layout in Chromium, as GitHub draws it
# ------------------------------------------------------------------------------------------------
# How wide a picture may be at its natural size: GitHub shows a comment or a page about 900 px wide,
# so at 1800 px the text is drawn at half its size, the least that stays readable.
MAX_NATURAL_WIDTH = 1800
MAX_NODES_FOR_ONE_RESOURCE = 15


@dataclass
class Rendered:
    svg: str
    width: float
    height: float

    def node_ids(self) -> list[str]:
        """The ids of the nodes Chromium drew (Mermaid's `g.node` elements), without the legend's."""
        ids = re.findall(r'<g class="node[^"]*" id="my-svg-flowchart-(\w+?)-\d+"', self.svg)
        return [i for i in ids if not i.startswith("legend_")]


def _start_mmdc(markdown: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start one run of mermaid-cli (one Chromium) on every ```mermaid block of a Markdown file."""
    found = browser()
    assert found, "no Chromium here"
    config = puppeteer_config(out, found)
    return subprocess.Popen([str(MMDC), "-p", str(config), "-i", str(markdown), "-o", str(out), "-q", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish_mmdc(process: subprocess.Popen[bytes], out: Path) -> None:
    _, errors = process.communicate(timeout=180)
    (out.parent / f"{out.stem}-puppeteer.json").unlink()
    assert process.returncode == 0, errors.decode()


def mmdc(markdown: Path, out: Path, *extra: str) -> None:
    _finish_mmdc(_start_mmdc(markdown, out, *extra), out)


@pytest.fixture(scope="session")
def rendering(request, runs, prod, fewer_agents, tmp_path_factory) -> Rendering | None:
    """Prod's topology, a one-resource change and a deletion, drawn by Mermaid as mermaid-cli draws them
    in Debian's Chromium once per session (`make test` installs mermaid-cli; CI's `.ci/run` installs
    Chromium), after Mermaid's parser has read every diagram in the same page (tests/mermaid/draw.mjs);
    or read from pytest's cache, where an earlier session kept the same (tests/chromium_drawing.py)."""
    browser_path = browser()
    if not (MMDC.exists() and browser_path):
        return None
    blocks = {"topology": topology.mermaid(prod), "created": _comment_picture(fewer_agents, prod),
              "deleted": _comment_picture(prod, fewer_agents)}
    folder = tmp_path_factory.mktemp("rendered")
    page = folder / "pictures.md"
    page.write_text("".join(f"```mermaid\n{text}```\n\n" for text in blocks.values()))
    parsed = _diagrams_to_parse(runs, prod, fewer_agents, folder / "parsed")
    cache: pytest.Cache | None = getattr(request.config, "cache", None)
    return chromium_drawing.start(cache.mkdir(chromium_drawing.CACHE_FOLDER) if cache is not None else None, browser_path,
                                  page, parsed, folder / "out.md", list(blocks))


@pytest.fixture(scope="module", autouse=True)
def _draw_while_the_other_tests_run(request):
    # Chromium takes seconds to start and draw: start it with this module, not with its first test.
    if any("chromium" in item.name or "mermaid_parses" in item.name for item in request.session.items):
        request.getfixturevalue("rendering")


@pytest.fixture(scope="session")
def rendered(rendering) -> dict[str, Rendered]:
    """The pictures as Chromium drew them (SVG), by name."""
    if rendering is None:
        if os.environ.get("CI"):
            pytest.fail("mermaid-cli or /usr/bin/chromium is missing: `.ci/run` and `make test` install them")
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium) and `npm ci --prefix tests/mermaid`")
    rendering.finish()
    result = {}
    for index, name in enumerate(rendering.names, start=1):
        svg = (rendering.out.parent / f"out-{index}.svg").read_text()
        box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg)
        assert box, f"{name}: no viewBox in the SVG"
        result[name] = Rendered(svg, float(box[1]), float(box[2]))
    return result


def test_prods_topology_drawn_in_chromium_fits_the_width_github_shows(rendered, prod):
    picture = rendered["topology"]
    assert picture.width <= MAX_NATURAL_WIDTH, f"{picture.width:.0f} px wide at its natural size"
    # Every resource node of the text was drawn (Mermaid drops nothing it cannot place).
    assert sorted(picture.node_ids()) == sorted(i for i in read(topology.mermaid(prod)).labels
                                                if not i.startswith(("vnet", "services", "legend"))
                                                and not (i.startswith("snet") and i in read(topology.mermaid(prod)).boxes))


def test_a_one_resource_change_drawn_in_chromium_is_a_few_nodes(rendered):
    for name in ("created", "deleted"):
        picture = rendered[name]
        assert len(picture.node_ids()) <= MAX_NODES_FOR_ONE_RESOURCE, (name, picture.node_ids())
        assert picture.width <= MAX_NATURAL_WIDTH
    assert re.search(r'class="node default create" id="my-svg-flowchart-(?!legend)\w+-\d+"', rendered["created"].svg)
    assert "vm-agent1-mlops-prod" in rendered["created"].svg
    # The deleted VM is drawn, struck through, in the ghost's grey.
    ghosts = [i for i in rendered["deleted"].node_ids() if i.startswith("ghost")]
    assert ghosts and re.search(r'class="node default delete" id="my-svg-flowchart-ghost0-\d+"', rendered["deleted"].svg)
    assert re.search(r"<s>VM vm-agent1-mlops-prod", rendered["deleted"].svg)


def test_docs_topology_png_is_prods_topology_drawn_in_chromium(rendered, prod, tmp_path):
    png = PROJECT_DIR / "docs" / "topology.png"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        source = tmp_path / "topology.mmd"
        source.write_text(topology.mermaid(prod))
        # At its natural size (the page is wider than the picture), on white.
        mmdc(source, png, "-w", str(MAX_NATURAL_WIDTH + 200), "-b", "white")
        pytest.skip("redrew docs/topology.png: look at it and commit it")
    # PNG bytes vary with fonts and versions, so the test compares the Mermaid source (above) and the
    # size: the PNG is drawn at the picture's natural width.
    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    assert abs(width - rendered["topology"].width) <= 0.05 * rendered["topology"].width + 2, (
        f"docs/topology.png is {width} px wide, the topology {rendered['topology'].width:.0f}: "
        "regenerate it with `UPDATE_SNAPSHOTS=1 make test`")

