"""`lms backup DEST` and `lms restore SOURCE`, run for real: a restore drill (make data, back up, lose
the instance, restore, sign in and find the data again), and what backup says on PostgreSQL."""

from __future__ import annotations

import http.cookiejar
import stat
import urllib.parse
import urllib.request
from pathlib import Path

from test_cli_instance import lms
from test_run_command import lms_run

PASSWORD = "a long enough password"


def sign_in(url: str, email: str, password: str) -> str:
    """Sign in through the real form; the page the browser lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{url}/sign-in", timeout=5) as page:
        html = page.read().decode()
    token = html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    with opener.open(f"{url}/sign-in", data=form, timeout=5) as landed:
        return landed.read().decode()


def test_a_restore_drill_brings_back_the_data_the_secret_key_and_sign_in(tmp_path: Path):
    site, vault = tmp_path / "site", tmp_path / "vault"
    site.mkdir()
    assert lms(site, "db", "upgrade").returncode == 0
    made = lms(
        site, "org", "create", "--slug", "st-marys", "--name", "St Mary's Hospital",
        "--time-zone", "Europe/London", "--admin-email", "dana@stmarys.example",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    nurse = lms(
        site, "user", "create", "--email", "nora@stmarys.example", "--name", "Nora Nurse",
        "--org", "st-marys", "--role", "clinician", "--password", PASSWORD,
    )  # fmt: skip
    assert nurse.returncode == 0, nurse.stderr
    key = (site / "instance" / "secret_key").read_text()

    backed_up = lms(site, "backup", str(vault), LMS_BASE_URL="https://lms.stmarys.example")
    assert backed_up.returncode == 0, backed_up.stderr
    assert f"and the secret key into {vault}." in backed_up.stdout
    assert sorted(p.name for p in vault.iterdir()) == [
        "RESTORE.txt",
        "lms.sqlite3",
        "secret_key",
        "settings.env",
    ]
    assert stat.S_IMODE((vault / "secret_key").stat().st_mode) == 0o600
    assert "LMS_BASE_URL=https://lms.stmarys.example" in (vault / "settings.env").read_text()
    again = lms(site, "backup", str(vault))
    assert again.returncode == 1 and f"{vault} is not empty" in again.stderr

    # The disaster: the instance is gone.
    for item in sorted((site / "instance").rglob("*"), reverse=True):
        item.unlink() if item.is_file() else item.rmdir()
    (site / "instance").rmdir()
    assert "No instance folder" in lms(site, "org", "list").stderr

    restored = lms(site, "restore", str(vault))
    assert restored.returncode == 0, restored.stderr
    assert f"Restored {vault} into {site / 'instance'}" in restored.stdout
    assert (site / "instance" / "secret_key").read_text() == key
    listed = lms(site, "org", "list").stdout.splitlines()
    assert listed[1].split() == ["st-marys", "St", "Mary's", "Hospital", "Europe/London", "2", "active"]
    refused = lms(site, "restore", str(vault))
    assert refused.returncode == 1 and "already holds a database" in refused.stderr

    with lms_run(site, LMS_PASSWORD_PROFILE="CHEAPEST") as running:
        home = sign_in(running.url, "nora@stmarys.example", PASSWORD)
    assert "Welcome, Nora Nurse" in home
    assert "St Mary&#39;s Hospital" in home


def test_on_postgresql_backup_prints_the_pg_dump_command_and_writes_nothing(tmp_path: Path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("a key")
    url = "postgresql+psycopg://lms:s3cret@db.internal:5432/lms"
    result = lms(tmp_path, "backup", "nightly", LMS_DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "PostgreSQL is backed up with pg_dump: pg_dump --format=custom "
        f"--file={tmp_path / 'nightly' / 'lms.dump'} "
        f"--dbname=postgresql://lms@db.internal:5432/lms (and keep {tmp_path / 'instance' / 'secret_key'} "
        "or LMS_SECRET_KEY with it)."
    )
    assert "s3cret" not in result.stderr
    assert not (tmp_path / "nightly").exists()
