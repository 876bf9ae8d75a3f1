"""The glossary and the printable templates in content/ (curricula.library), and the links modules make
to them: `[gemba](term:gemba)`, `[the worksheet](template:NAME)`. An unknown term or template is a problem."""

from __future__ import annotations

import shutil
from pathlib import Path

from curricula.corpus import load_corpus
from curricula.library import load_library

REAL = Path(__file__).resolve().parent.parent / "content"
MODULE = """---
id: walks
title: Walks
curriculum: improvement-science
dose: awareness
roles: [clinician]
minutes: 10
objectives: [Walk the ward.]
sources: [Leadership for Improvement]
---
{text}

::: reflection seen
Where have you seen one?
:::

::: check median scenario
A nurse reads the board. What line does a run chart show?

- [x] The median
- [ ] The maximum
:::
"""
GLOSSARY = """terms:
  - id: gemba
    term: Gemba
    definition: >-
      Where the work is done.
  - id: a3
    term: A3
    definition: One sheet of paper for one problem.
"""


def folder(tmp_path: Path, text: str, files: dict[str, str]) -> Path:
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    (root / "modules" / "walks.md").write_text(MODULE.format(text=text))
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in load_corpus(root).problems]


# --- the glossary ---------------------------------------------------------------------------------


def test_a_term_link_goes_to_its_glossary_entry(tmp_path):
    root = folder(tmp_path, "Leaders go to the [gemba](term:gemba) daily.", {"glossary.yaml": GLOSSARY})
    corpus = load_corpus(root)
    assert corpus.problems == ()
    assert '<a href="/glossary#term-gemba">gemba</a>' in corpus.modules[0].segments[0].value


def test_the_glossary_is_read_in_alphabetical_order_with_definitions_on_one_line(tmp_path):
    root = folder(tmp_path, "Text.", {"glossary.yaml": GLOSSARY})
    terms = load_library(root).glossary
    assert [(t.id, t.term, t.definition) for t in terms] == [
        ("a3", "A3", "One sheet of paper for one problem."),
        ("gemba", "Gemba", "Where the work is done."),
    ]


def test_an_unknown_term_is_a_problem_at_its_line(tmp_path):
    root = folder(tmp_path, "Text.\n\nWe walk the [floor](term:floor).", {"glossary.yaml": GLOSSARY})
    assert problems(root) == [
        "modules/walks.md:13: unknown term 'floor': no such term in content/glossary.yaml"
    ]


def test_a_term_link_without_a_name_is_a_problem(tmp_path):
    root = folder(tmp_path, "See [it](term:Not_A_Key).", {"glossary.yaml": GLOSSARY})
    assert problems(root) == [
        "modules/walks.md:11: a term link needs a name: 'term:NAME', not 'term:Not_A_Key'"
    ]


def test_glossary_mistakes_are_each_reported_at_their_line(tmp_path):
    broken = GLOSSARY + "  - id: gemba\n    term: Again\n    definition: Twice.\n  - id: x\n    term: X\n"
    root = folder(tmp_path, "Text.", {"glossary.yaml": broken})
    assert problems(root) == [
        "glossary.yaml:9: duplicate term 'gemba' (also at line 2)",
        "glossary.yaml:12: each term has exactly 'id', 'term' and 'definition'",
    ]


def test_the_real_glossary_has_the_terms_the_curriculum_uses():
    ids = {t.id for t in load_library(REAL).glossary}
    wanted = {"catchball", "gemba", "a3", "spc", "pdsa", "run", "shift", "trend", "tier", "huddle"}
    assert wanted | {"leader-standard-work", "dose", "driver-diagram"} <= ids
    linked = {
        href.split("#term-")[1].split('"')[0]
        for module in load_corpus(REAL).modules
        for segment in module.segments
        if segment.kind == "html"
        for href in segment.value.split('href="/glossary')[1:]
    }
    assert wanted <= linked


# --- printable templates --------------------------------------------------------------------------

SHEET = """---
title: Test sheet
summary: One sheet for one test.
---

## Aim

::: box 2
:::

| Who | When |
| --- | --- |
|  |  |

::: lines 3
:::
"""


def test_a_template_renders_its_boxes_lines_and_table_and_a_module_links_it(tmp_path):
    root = folder(tmp_path, "Print the [sheet](template:sheet).", {"templates/sheet.md": SHEET})
    corpus = load_corpus(root)
    assert corpus.problems == ()
    assert '<a href="/templates/sheet">sheet</a>' in corpus.modules[0].segments[0].value
    sheet = load_library(root).templates["sheet"]
    assert (sheet.title, sheet.summary) == ("Test sheet", "One sheet for one test.")
    line = '<span class="fill-line"></span>'
    assert f'<h2>Aim</h2>\n<div class="fill fill-box" role="presentation">{line * 2}</div>' in sheet.html
    assert f'<div class="fill fill-lines" role="presentation">{line * 3}</div>' in sheet.html
    assert '<td data-label="Who"></td>' in sheet.html


def test_an_unknown_template_link_and_an_unlinked_template_are_problems(tmp_path):
    root = folder(tmp_path, "Print the [sheet](template:nope).", {"templates/sheet.md": SHEET})
    assert problems(root) == [
        "modules/walks.md:11: unknown template 'nope': no such file in content/templates",
        "templates/sheet.md:1: the template 'sheet' is linked from no module: link it where it is taught",
    ]


USAGE = "write '::: lines N' or '::: box N' (N from 1 to 20)"


def test_template_mistakes_are_reported_at_their_lines(tmp_path):
    broken = (
        SHEET.replace("summary: One sheet for one test.\n", "colour: red\n")
        .replace("::: box 2", "::: box 40")
        .replace("::: lines 3", "::: circle")
        + "\n# Big\n\n<b>bold</b>\n"
    )
    root = folder(tmp_path, "Print the [sheet](template:sheet).", {"templates/sheet.md": broken})
    assert problems(root) == [
        "modules/walks.md:11: unknown template 'sheet': no such file in content/templates",
        "templates/sheet.md:1: a template needs 'summary:' text",
        "templates/sheet.md:3: unknown key 'colour'",
        f"templates/sheet.md:8: too many or too few lines: {USAGE}",
        f"templates/sheet.md:15: unknown block in a template: {USAGE}",
        "templates/sheet.md:18: headings start at '##': the title is the page's heading",
        "templates/sheet.md:20: raw HTML is not allowed; write Markdown instead",
    ]


def test_the_real_templates_are_linked_from_the_modules_that_teach_them():
    corpus = load_corpus(REAL)
    assert corpus.problems == ()
    linked = {
        (slug, module.id)
        for module in corpus.modules
        for segment in module.segments
        if segment.kind == "html"
        for slug in load_library(REAL).templates
        if f'href="/templates/{slug}"' in segment.value
    }
    assert {
        ("pdsa-worksheet", "is-pdsa-cycles"),
        ("driver-diagram", "is-driver-diagrams"),
        ("huddle-board", "wsq-standard-work-and-huddles"),
        ("leader-rounding-card", "wsq-leader-presence"),
    } <= linked
