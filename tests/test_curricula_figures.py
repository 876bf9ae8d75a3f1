"""Figures in content/figures: shown in modules as `![alt](figure:NAME)`, checked by the corpus (a missing
figure, an image without alt text, a figure no module shows, an SVG that is not safe or not accessible)."""

from __future__ import annotations

import shutil
from pathlib import Path

from curricula.corpus import load_corpus
from curricula.figures import check_svg

REAL = Path(__file__).resolve().parent.parent / "content"
SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" role="img">
  <title>A box</title>
  <desc>One square box, labelled.</desc>
  <rect x="1" y="1" width="8" height="8"/>
</svg>
"""
MODULE = """---
id: {id}
title: Figures
curriculum: improvement-science
dose: awareness
roles: [clinician]
minutes: 10
objectives: [Read a figure.]
sources: [Leadership for Improvement]
---
A figure follows.

{image}

::: reflection seen
Where have you seen one?
:::

::: check median scenario
A nurse reads the board. What line does a run chart show?

- [x] The median
- [ ] The maximum
:::
"""


def folder(tmp_path: Path, images: dict[str, str], figures: dict[str, str]) -> Path:
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    (root / "figures").mkdir()
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    for module_id, image in images.items():
        (root / "modules" / f"{module_id}.md").write_text(MODULE.format(id=module_id, image=image))
    for name, text in figures.items():
        (root / "figures" / name).write_text(text)
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in load_corpus(root).problems]


def test_a_figure_is_shown_as_an_image_of_its_own_address_with_its_alt_text(tmp_path):
    root = folder(tmp_path, {"a": "![One square box](figure:box)"}, {"box.svg": SVG})
    corpus = load_corpus(root)
    assert corpus.problems == ()
    html = corpus.modules[0].segments[0].value
    assert '<img src="/figures/box.svg" alt="One square box" class="figure"' in html


def test_a_missing_figure_is_a_problem_at_its_line(tmp_path):
    root = folder(tmp_path, {"a": "![A diagram](figure:nowhere)"}, {})
    assert problems(root) == ["modules/a.md:13: unknown figure 'nowhere': no such file in content/figures"]


def test_an_image_without_alt_text_is_a_problem(tmp_path):
    root = folder(tmp_path, {"a": "![](figure:box)"}, {"box.svg": SVG})
    assert problems(root) == [
        "modules/a.md:13: the figure 'box' needs alt text: '![what it shows](figure:box)'"
    ]


def test_an_image_from_elsewhere_is_a_problem_and_is_never_shown(tmp_path):
    root = folder(tmp_path, {"a": "![A cat](https://example.org/cat.png)"}, {})
    corpus = load_corpus(root)
    assert [str(p) for p in corpus.problems] == [
        "modules/a.md:13: an image must be a figure: '![what it shows](figure:NAME)', "
        "not 'https://example.org/cat.png'"
    ]
    assert "example.org" not in corpus.modules[0].segments[0].value


def test_a_figure_no_module_shows_is_a_problem(tmp_path):
    root = folder(tmp_path, {"a": "![One box](figure:box)"}, {"box.svg": SVG, "spare.svg": SVG})
    assert problems(root) == [
        "figures/spare.svg:1: the figure 'spare' is shown by no module: use it or remove it"
    ]


def test_a_figure_file_must_be_named_like_a_key_and_be_svg(tmp_path):
    root = folder(tmp_path, {"a": "![One box](figure:box)"}, {"box.svg": SVG, "Photo.PNG": "x"})
    assert problems(root) == [
        "figures/Photo.PNG:1: a figure is an .svg file named in lowercase letters, digits and hyphens"
    ]


def test_a_sound_svg_has_no_problems():
    assert check_svg(SVG, "figures/box.svg") == []


def test_an_svg_without_role_title_or_desc_is_not_accessible():
    bare = '<svg xmlns="http://www.w3.org/2000/svg">\n<title> </title>\n<rect/>\n</svg>'
    assert [str(p) for p in check_svg(bare, "f.svg")] == [
        'f.svg:1: the <svg> element needs role="img"',
        "f.svg:1: the <svg> element needs a <title> child with words in it",
        "f.svg:1: the <svg> element needs a <desc> child with words in it",
    ]


def test_scripts_events_and_outside_references_are_refused_at_their_lines():
    bad = SVG.replace(
        '  <rect x="1" y="1" width="8" height="8"/>\n',
        "  <script>alert(1)</script>\n"
        '  <rect onclick="steal()" width="1" height="1"/>\n'
        '  <use href="https://evil.test/x.svg#a"/>\n'
        '  <rect fill="url(https://evil.test/p)" width="1" height="1"/>\n'
        '  <use href="#ok"/>\n'
        "  <foreignObject/>\n",
    )
    assert [str(p) for p in check_svg(bad, "f.svg")] == [
        "f.svg:4: a figure may not contain <script>",
        "f.svg:5: a figure may not have event attributes ('onclick')",
        "f.svg:6: a figure may link only inside itself ('#id'), not to 'https://evil.test/x.svg#a'",
        "f.svg:7: a figure may not load anything from outside ('fill')",
        "f.svg:9: a figure may not contain <foreignObject>",
    ]


def test_doctypes_entities_and_broken_xml_are_refused():
    entity = '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY a "aaaa">]>\n<svg>&a;</svg>'
    assert [p.message for p in check_svg(entity, "f.svg")] == ["a figure may not have a DOCTYPE or entities"]
    broken = check_svg('<svg xmlns="http://www.w3.org/2000/svg" role="img">\n<title>x</title>', "f.svg")
    assert len(broken) == 1 and broken[0].message.startswith("the figure is not well-formed XML")


def test_a_root_that_is_not_svg_is_refused():
    html = '<html xmlns="http://www.w3.org/1999/xhtml"><title>x</title></html>'
    assert [p.message for p in check_svg(html, "f.svg")] == [
        'a figure\'s root element must be <svg xmlns="http://www.w3.org/2000/svg">'
    ]


def test_the_real_figures_are_sound_described_and_each_shown_by_a_module():
    corpus = load_corpus(REAL)
    assert corpus.problems == ()
    shown = {
        name: module.id
        for module in corpus.modules
        for segment in module.segments
        if segment.kind == "html"
        for name in ("driver-diagram", "process-map", "lfq-framework", "huddle-tiers")
        if f'src="/figures/{name}.svg"' in segment.value
    }
    assert shown == {
        "driver-diagram": "is-driver-diagrams",
        "process-map": "is-process-maps",
        "lfq-framework": "lfq-overview",
        "huddle-tiers": "wsq-standard-work-and-huddles",
    }


def test_lms_content_check_reports_a_missing_and_an_unused_figure_at_path_and_line(tmp_path):
    from click.testing import CliRunner

    from lms.cli import main

    root = folder(tmp_path, {"a": "![A diagram](figure:nowhere)"}, {"spare.svg": SVG})
    result = CliRunner().invoke(main, ["content", "check", str(root)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{root.as_posix()}/figures/spare.svg:1: "
        "the figure 'spare' is shown by no module: use it or remove it",
        f"{root.as_posix()}/modules/a.md:13: unknown figure 'nowhere': no such file in content/figures",
        "1 module in 1 curriculum; 2 problems",
    ]
