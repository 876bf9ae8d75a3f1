"""CI runs exactly the README's test command, so the quick start that people copy is what CI proves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ci_test_command() -> str:
    match = re.search(r'^TEST_COMMAND="(.+)"$', (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    assert match, ".ci/run has no TEST_COMMAND line"
    return match.group(1)


def test_ci_runs_the_tests_on_sqlite_and_postgresql():
    script = (ROOT / ".ci" / "run").read_text()
    assert (
        _ci_test_command()
        == "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest"
    )
    assert script.count('bash -c "$TEST_COMMAND"') == 2
    assert "LMS_TEST_DATABASE_URL=" in script
    assert "playwright install" not in script


def test_readme_quick_start_runs_the_same_test_command_as_ci(request: pytest.FixtureRequest):
    readme = ROOT / "README.md"
    if not readme.exists():
        root_conftest = request.config.pluginmanager.get_plugin(str(ROOT / "tests" / "conftest.py"))
        root_conftest.missing("README.md is not written yet")
    assert readme.read_text(encoding="utf-8").count(_ci_test_command()) >= 1


def test_ci_checks_lint_format_and_the_import_contracts():
    script = (ROOT / ".ci" / "run").read_text()
    for guard in (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/lint-imports"):
        assert guard in script, f"{guard} is not run by CI"
    assert "guard_status == 0" in script, "a broken guardrail fails CI"
