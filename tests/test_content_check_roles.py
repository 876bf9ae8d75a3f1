"""`lms content check` reports a module whose `roles` disagree with the dosing policy: a role it names
that the policy never doses to the module's level, at the line of that role, so an author sees which
people the text speaks to would never be assigned it."""

from __future__ import annotations

from test_content_command import MODULE, folder, lms


def test_a_role_the_policy_never_doses_to_the_level_is_a_problem_at_its_line(tmp_path):
    # content/dosing.yaml gives clinicians awareness and foundational only, never sponsor.
    sponsor = MODULE.format(id="b").replace("dose: awareness", "dose: sponsor")
    sponsor = sponsor.replace("roles: [clinician]", "roles:\n  - executive\n  - clinician")
    root = folder(tmp_path, {"a.md": MODULE.format(id="a"), "b.md": sponsor})

    result = lms("content", "check", str(root))

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{root.as_posix()}/modules/b.md:8: roles names 'clinician', but the dosing policy never gives "
        "clinician the 'sponsor' level: no clinician would be assigned this module",
        "2 modules in 1 curriculum; 1 problem",
    ]


def test_a_policy_that_doses_the_role_to_the_level_settles_it(tmp_path):
    sponsor = MODULE.format(id="b").replace("dose: awareness", "dose: sponsor")
    root = folder(tmp_path, {"a.md": MODULE.format(id="a"), "b.md": sponsor})
    assert lms("content", "check", str(root)).exit_code == 1

    dosing = root / "dosing.yaml"
    text = dosing.read_text()
    assert "  clinician: {awareness: 30, foundational: 90}\n" in text
    dosing.write_text(
        text.replace(
            "  clinician: {awareness: 30, foundational: 90}", "  clinician: {awareness: 30, sponsor: 90}"
        )
    )

    result = lms("content", "check", str(root))
    assert result.exit_code == 0, result.output


def test_a_role_the_policy_leaves_out_receives_no_level(tmp_path):
    dosing_free = MODULE.format(id="a").replace("roles: [clinician]", "roles: [clinician, board]")
    root = folder(tmp_path, {"a.md": dosing_free})
    dosing = root / "dosing.yaml"
    lines = [ln for ln in dosing.read_text().splitlines() if not ln.startswith("  board: {")]
    dosing.write_text("\n".join(lines) + "\n")

    result = lms("content", "check", str(root))

    assert result.exit_code == 1
    assert "a.md:6: roles names 'board', but the dosing policy never gives board the 'awareness' level" in (
        result.output
    )


def test_the_real_content_passes_a_strict_check():
    result = lms("content", "check", "--strict")
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output and "warning" not in result.output
