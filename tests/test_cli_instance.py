"""The `lms` command, run for real in a subprocess, where no instance or no migrated database is: one
line saying what is wrong and what to run, nothing created, no traceback; and `lms --help` shows only
the options `lms` has."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from test_run_command import lms_executable

from lms import migrate

PASSWORD = "a long enough password"


def lms(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`lms ARGS` in the folder `cwd`, with no LMS_* setting but `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env |= {"LMS_PASSWORD_PROFILE": "CHEAPEST", "LMS_LOG_LEVEL": "WARNING", **settings}
    return subprocess.run(
        [lms_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help_shows_only_the_options_lms_has(tmp_path: Path):
    result = lms(tmp_path, "--help")
    assert result.returncode == 0
    assert "--env-file" not in result.stdout and "--app" not in result.stdout
    assert "org" in result.stdout and "backup" in result.stdout
    assert "No such option '-e'" in lms(tmp_path, "-e", ".env", "org", "list").stderr
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("token", "create", "--email", "someone@example.org"),
        ("org", "list"),
        ("units", "import", "units.csv", "--org", "st-marys"),
        ("content", "sync"),
        ("backup", "copy"),
        ("scheduler",),
    ],
)
def test_a_command_run_from_another_folder_says_so_and_creates_nothing(tmp_path: Path, args):
    (tmp_path / "units.csv").write_text("code,name,level,parent code\n")
    line = one_line_error(lms(tmp_path, *args))
    assert line == (
        f"Error: No instance folder in {tmp_path / 'instance'}: run lms from the folder that holds the "
        "instance, or set LMS_INSTANCE_PATH to it (a new instance is made by `lms db upgrade` or `lms demo`)."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["units.csv"]


def test_an_instance_without_a_database_or_a_secret_key_says_what_to_run(tmp_path: Path):
    instance = tmp_path / "instance"
    instance.mkdir()
    line = one_line_error(lms(tmp_path, "org", "list"))
    assert line.startswith(f"Error: No secret key (secret_key) in {instance}: run lms from the folder")
    (instance / "secret_key").write_text("a key made earlier")
    line = one_line_error(lms(tmp_path, "token", "create", "--email", "someone@example.org"))
    assert (
        line
        == f"Error: No database at {instance / 'lms.sqlite3'}: run `lms db upgrade` (or `lms demo`) first."
    )
    assert sorted(p.name for p in instance.iterdir()) == ["secret_key"]


def test_a_database_behind_the_latest_schema_says_to_upgrade_it(tmp_path: Path):
    assert lms(tmp_path, "db", "upgrade", "--revision", "0005").returncode == 0
    line = one_line_error(lms(tmp_path, "org", "list"))
    assert line.startswith("Error: The database sqlite:///")
    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    assert line.endswith(f"is at revision 0005, not {head}: run `lms db upgrade`.")
    assert lms(tmp_path, "db", "upgrade").returncode == 0
    assert lms(tmp_path, "org", "list").stdout.startswith("No organisations yet")


def test_the_instance_path_may_be_named_from_any_folder(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    instance = tmp_path / "site" / "instance"
    assert lms(elsewhere, "db", "upgrade", LMS_INSTANCE_PATH=str(instance)).returncode == 0
    created = lms(
        elsewhere, "org", "create", "--slug", "st-marys", "--name", "St Mary's",
        "--time-zone", "Europe/London", "--admin-email", "dana@stmarys.example",
        LMS_INSTANCE_PATH=str(instance),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "st-marys" in lms(elsewhere, "org", "list", LMS_INSTANCE_PATH=str(instance)).stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == []
