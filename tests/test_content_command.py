"""`lms content check [PATH]`, run the way an author runs it before committing content."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from lms.cli import main

REAL = Path(__file__).resolve().parent.parent / "content"
MODULE = """---
id: {id}
title: Reading a run chart
curriculum: improvement-science
dose: awareness
roles: [clinician]
minutes: 10
objectives: [Read a run chart.]
sources: [Leadership for Improvement]
---
A run chart shows data over time.

::: reflection seen
Where have you seen one?
:::

::: check median scenario
A nurse finds a run chart on the ward's board. What line does it usually show?

- [x] The median
- [ ] The maximum
:::
"""


def lms(*args: str):
    return CliRunner().invoke(main, list(args))


def folder(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A content folder with the real vocabularies and the given modules."""
    root = tmp_path / "content"
    (root / "modules").mkdir(parents=True)
    for name in ("dosing.yaml", "curricula.yaml"):
        shutil.copy(REAL / name, root / name)
    for name, text in modules.items():
        (root / "modules" / name).write_text(text)
    return root


def test_a_clean_folder_says_so_and_exits_0(tmp_path):
    root = folder(tmp_path, {"a.md": MODULE.format(id="a"), "b.md": MODULE.format(id="b")})
    result = lms("content", "check", str(root))
    assert result.exit_code == 0, result.output
    assert result.output == "2 modules in 1 curriculum; no problems\n"


def test_each_problem_is_printed_as_path_line_message_and_the_command_exits_1(tmp_path):
    broken = MODULE.format(id="b").replace("dose: awareness", "dose: expert").replace("- [x]", "- [ ]")
    root = folder(tmp_path, {"a.md": MODULE.format(id="a"), "b.md": broken})
    result = lms("content", "check", str(root))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{root.as_posix()}/modules/b.md:5: unknown dose level 'expert'",
        f"{root.as_posix()}/modules/b.md:17: a check needs at least one correct option, marked [x]",
        "1 module in 1 curriculum; 2 problems",
    ]


def test_warnings_are_printed_as_path_line_message_and_fail_only_a_strict_check(tmp_path):
    plain = MODULE.replace("::: check median scenario", "::: check median")
    root = folder(tmp_path, {"a.md": plain.format(id="a"), "b.md": MODULE.format(id="b")})
    result = lms("content", "check", str(root))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{root.as_posix()}/modules/a.md:1: warning: no scenario check: mark a check that sets a situation "
        "and asks what to do as '::: check KEY scenario'",
        "2 modules in 1 curriculum; no problems; 1 warning",
    ]
    assert lms("content", "check", "--strict", str(root)).exit_code == 1


def test_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    result = lms("content", "check", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_the_real_content_folder_is_checked_by_default_and_has_no_problems_or_warnings():
    result = lms("content", "check", "--strict")
    assert result.exit_code == 0, result.output
    summary = re.fullmatch(r"(\d+) modules in (\d+) curricula; [^;]+; no problems\n", result.output)
    assert summary is not None, result.output
    assert int(summary.group(1)) >= 30
