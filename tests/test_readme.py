"""The README is what people copy: its quick start, its configuration table and its commands must be
true of the code. Run `python tests/test_readme.py --write` to regenerate the configuration table."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from flask import Flask

from lms.cli import main
from lms.config import SETTINGS, Setting

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE = re.compile(r"(<!-- settings:start[^\n]*-->\n)(.*?)(<!-- settings:end -->)", re.DOTALL)


def configuration_table(settings: tuple[Setting, ...] = SETTINGS) -> str:
    """The README's configuration table, one row per setting of lms.config."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def default(text: str) -> str:
        # In a code span so that "<instance>" is shown, not taken for HTML; unless it has its own.
        return cell(text) if "`" in text else f"`{cell(text)}`"

    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.env}` | {default(s.default)} | {cell(s.help)} |" for s in settings]
    return "\n".join(rows) + "\n"


def quick_start_commands(readme: str) -> list[str]:
    section = readme.split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start has no code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quick_start_is_two_commands_install_and_run_then_install_and_test():
    commands = quick_start_commands(README.read_text(encoding="utf-8"))

    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/lms demo && .venv/bin/lms run",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest",
    ]


def test_ci_runs_the_quick_starts_test_command_word_for_word():
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.MULTILINE)
    assert match, ".ci/run has no TEST_COMMAND line"

    assert quick_start_commands(README.read_text(encoding="utf-8"))[1] == match.group(1)


def test_every_setting_is_documented_with_its_current_default():
    readme = README.read_text(encoding="utf-8")
    table = TABLE.search(readme)
    assert table, "the README has no generated configuration table"

    for setting in SETTINGS:
        assert f"`{setting.env}`" in table.group(2), setting.env
    assert table.group(2) == configuration_table(), "run: python tests/test_readme.py --write"


def test_every_lms_command_is_in_the_readme():
    readme = README.read_text(encoding="utf-8")

    for name, command in main.commands.items():
        subcommands = getattr(command, "commands", None)
        for full in [f"lms {name} {sub}" for sub in subcommands] if subcommands else [f"lms {name}"]:
            assert re.search(rf"`{full}[ `]", readme), f"{full} is not described in the README"


def test_the_production_command_is_the_one_the_benchmark_measures():
    benchmark = (ROOT / "bench" / "pages.py").read_text()
    served = re.search(r"gunicorn --workers \{srv.workers\} --bind ([\d.:]+) '([\w.:]+)'", benchmark)
    assert served, "bench/pages.py no longer says how production serves the app"

    # The README's command and the deployment guide's web unit (which tests/test_deploy_proxy.py runs).
    for document in (README, ROOT / "docs" / "deploy.md"):
        assert re.search(
            rf"gunicorn --workers \d+ --bind {re.escape(served[1])} '{re.escape(served[2])}'",
            document.read_text(encoding="utf-8"),
        ), document.name


def test_the_readme_counts_the_demo_as_lms_demo_does(app: Flask):
    result = app.test_cli_runner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    created = re.search(r"\((\d+) units, (\d+) people\)", result.output)
    assert created, f"`lms demo` no longer says what it created:\n{result.output}"

    demo = README.read_text(encoding="utf-8").split("\n## The demo organisation", 1)[1].split("\n## ", 1)[0]
    assert f"{created[1]} units" in demo
    assert f"{created[2]} people" in demo


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_readme.py --write   (rewrites the README's configuration table)")
    text = README.read_text(encoding="utf-8")
    README.write_text(
        TABLE.sub(lambda m: m[1] + configuration_table() + m[3], text, count=1), encoding="utf-8"
    )
    print(f"Configuration table of {README} regenerated from lms.config.SETTINGS.")
