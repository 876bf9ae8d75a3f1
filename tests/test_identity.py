"""An account is its person's, shared between organisations only with consent.

On main, organisation B's HR added an email that already had an account in A and the person was joined
to B unasked, with B's people list showing the name A holds; B could also create an account, point it at
an address it controls, set its password and move it back, so that A's member later signed in with B's
password; and an organisation could change a learner's email and read their private reflections through
a reset link.
"""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, csrf_token
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.models import AuditEvent, Membership, OutboxMessage, User
from lms.services import Invalid, people
from lms.services.access import Actor


def actor(m: Membership) -> Actor:
    return Actor(m.user, m)


def mail_to(db, address: str) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == address)))


def link_in(message: OutboxMessage, app) -> str:
    match = re.search(re.escape(app.config["BASE_URL"]) + r"(/\S+)", message.body_text)
    assert match, message.body_text
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/sign-in")}
    )


def person_form(client, path: str, **fields) -> dict:
    return {"csrf_token": csrf_token(client, path), "stakeholder_role": "clinician", **fields}


@pytest.fixture
def b_hr(make, other_tree) -> Membership:
    return make.person(other_tree, StakeholderRole.QUALITY_STAFF, name="Beta HR", hr=True)


@pytest.fixture
def a_nurse(make, tree) -> Membership:
    return make.person(tree, name="Alma Nurse", email="alma@alpha.example")


# --- another organisation invites; the person consents -------------------------------------------


def test_adding_an_email_known_elsewhere_invites_and_shows_only_what_b_typed(
    app, db, b_hr, a_nurse, login_as
):
    client = login_as(b_hr)
    slug = b_hr.organization.slug
    resp = client.post(
        f"/o/{slug}/admin/people/new",
        data=person_form(client, f"/o/{slug}/admin/people/new", email="alma@alpha.example", name="A. N."),
    )
    assert resp.status_code == 302
    assert "invitation" in client.get(resp.location).get_data(as_text=True)

    assert not db.scalar(
        select(Membership).where(Membership.org_id == b_hr.org_id, Membership.user_id == a_nurse.user_id)
    ), "nobody joins an organisation unasked"
    listing = client.get(f"/o/{slug}/admin/people").get_data(as_text=True)
    assert "A. N." in listing and "Alma Nurse" not in listing
    assert [m.subject for m in mail_to(db, "alma@alpha.example")] == [
        f"{b_hr.organization.name} invites you to join it on Lead with Quality"
    ]
    assert "Alma Nurse" not in mail_to(db, "alma@alpha.example")[0].body_text


def test_the_person_accepts_from_their_home_page_and_b_then_sees_them(app, db, b_hr, a_nurse, login_as):
    invitation = people.add_person(
        db,
        actor(b_hr),
        people.PersonInput("alma@alpha.example", "A. N.", "unit-leader", b_hr.unit_id),
    )
    nurse = login_as(a_nurse)
    home = nurse.get("/").get_data(as_text=True)
    assert f"{b_hr.organization.name} invites you to join" in home
    token = csrf_token(nurse, "/")
    resp = nurse.post(f"/invitations/{invitation.id}/accept", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.location.endswith(f"/o/{b_hr.organization.slug}/")

    joined = db.scalar(
        select(Membership).where(Membership.org_id == b_hr.org_id, Membership.user_id == a_nurse.user_id)
    )
    assert joined is not None and joined.stakeholder_role is StakeholderRole.UNIT_LEADER
    listing = login_as(b_hr).get(f"/o/{b_hr.organization.slug}/admin/people").get_data(as_text=True)
    assert "Alma Nurse" in listing, "once accepted, the person's own name shows"
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.target_id == joined.id)) == (
        "invitation.accepted"
    )


def test_someone_else_cannot_accept_an_invitation_nor_can_b_join_the_person_itself(
    app, db, make, tree, b_hr, a_nurse, login_as
):
    invitation = people.add_person(
        db, actor(b_hr), people.PersonInput("alma@alpha.example", "A. N.", "clinician")
    )
    intruder = login_as(make.person(tree))
    token = csrf_token(intruder, "/")
    assert (
        intruder.post(f"/invitations/{invitation.id}/accept", data={"csrf_token": token}).status_code == 404
    )
    b = login_as(b_hr)
    assert (
        b.post(f"/invitations/{invitation.id}/accept", data={"csrf_token": csrf_token(b, "/")}).status_code
        == 404
    )
    db.refresh(invitation)
    assert invitation.open


def test_a_declined_invitation_leaves_the_person_out(app, db, b_hr, a_nurse, login_as):
    invitation = people.add_person(
        db, actor(b_hr), people.PersonInput("alma@alpha.example", "A. N.", "clinician")
    )
    nurse = login_as(a_nurse)
    nurse.post(f"/invitations/{invitation.id}/decline", data={"csrf_token": csrf_token(nurse, "/")})
    db.refresh(invitation)
    assert invitation.closed_reason == "declined"
    assert f"{b_hr.organization.name} invites you" not in nurse.get("/").get_data(as_text=True)
    assert "A. N." not in login_as(b_hr).get(f"/o/{b_hr.organization.slug}/admin/people").get_data(
        as_text=True
    )


# --- an organisation cannot move an account it does not own alone -----------------------------------


def test_an_organisation_cannot_change_the_email_of_an_account_its_person_uses(app, db, make, tree, login_as):
    """On main, HR changed a learner's email to their own, reset its password and read the learner's
    private reflections. An account that has signed in (or chosen a password) is its person's."""
    hr = make.person(tree, StakeholderRole.QUALITY_STAFF, hr=True)
    learner = make.person(tree, name="Lena Learner", email="lena@alpha.example")
    learner.user.last_login_at = learner.user.created_at
    db.commit()
    with pytest.raises(Invalid, match="only they can change their name and email"):
        people.update_person(
            db,
            actor(hr),
            learner.id,
            people.PersonInput("hr.owns.this@alpha.example", "Lena Learner", "clinician", learner.unit_id),
        )
    db.refresh(learner.user)
    assert learner.user.email == "lena@alpha.example"


def test_b_cannot_plant_a_password_on_an_address_a_uses_later(app, db, client, b_hr, tree, make):
    """B makes an account for an address it controls and sets its password through the welcome link;
    the account is then its holder's, so B cannot point it at A's member's address."""
    added = people.add_person(
        db, actor(b_hr), people.PersonInput("trap@beta-controlled.example", "Trap", "clinician")
    )
    (welcome,) = mail_to(db, "trap@beta-controlled.example")
    path = link_in(welcome, app)
    client.post(
        path,
        data={
            "password": "planted by beta!",
            "confirm": "planted by beta!",
            "csrf_token": csrf_token(client, path),
        },
    )
    with pytest.raises(Invalid, match="only they can change"):
        people.update_person(
            db, actor(b_hr), added.id, people.PersonInput("victim@alpha.example", "Trap", "clinician")
        )
    # When A later adds that address, a new account is made for A's member: B's password opens nothing.
    a_admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    victim = people.add_person(
        db, actor(a_admin), people.PersonInput("victim@alpha.example", "Vic Tim", "clinician")
    )
    assert isinstance(victim, Membership) and victim.user_id != added.user_id
    assert sign_in(client, "victim@alpha.example", "planted by beta!").status_code == 400


def test_while_nobody_has_taken_an_account_its_organisation_may_correct_the_email(app, db, client, b_hr):
    added = people.add_person(
        db, actor(b_hr), people.PersonInput("typo@beta.exmaple", "Tess Typo", "clinician")
    )
    (first,) = mail_to(db, "typo@beta.exmaple")
    people.update_person(
        db, actor(b_hr), added.id, people.PersonInput("tess@beta.example", "Tess Typo", "clinician")
    )
    (second,) = mail_to(db, "tess@beta.example")
    stale = client.get(link_in(first, app))
    assert stale.status_code == 400, "the link sent to the mistyped address stops working"
    assert client.get(link_in(second, app)).status_code == 200
    assert db.scalar(select(User.email).where(User.id == added.user_id)) == "tess@beta.example"


# --- a new account's invitation to choose a password ----------------------------------------------


def test_a_person_hr_adds_is_emailed_a_link_to_choose_a_password_and_can_sign_in(
    app, db, client, b_hr, login_as
):
    hr = login_as(b_hr)
    slug = b_hr.organization.slug
    resp = hr.post(
        f"/o/{slug}/admin/people/new",
        data=person_form(hr, f"/o/{slug}/admin/people/new", email="new.nurse@beta.example", name="New Nurse"),
    )
    assert "emailed them a link to choose their password" in hr.get(resp.location).get_data(as_text=True)
    (welcome,) = mail_to(db, "new.nurse@beta.example")
    assert "has created your Lead with Quality account" in welcome.subject
    path = link_in(welcome, app)
    assert "Choose your password" in client.get(path).get_data(as_text=True)
    chosen = "my own first password"
    client.post(path, data={"password": chosen, "confirm": chosen, "csrf_token": csrf_token(client, path)})
    assert sign_in(client, "new.nurse@beta.example", chosen).status_code == 302


# --- the person changes their own email ------------------------------------------------------------


def test_a_person_changes_their_email_by_a_link_to_the_new_address(app, db, make, tree, login_as):
    nurse = make.person(tree, name="Nia Nurse", email="nia@alpha.example")
    elsewhere = make.org(slug="gamma")
    make.person(elsewhere, email="nia@alpha.example")
    client, other_device = login_as(nurse), login_as(nurse)
    resp = client.post(
        "/profile/email",
        data={
            "change-email": "Nia.New@Alpha.Example",
            "change-password": PASSWORD,
            "csrf_token": csrf_token(client, "/profile"),
        },
    )
    assert resp.status_code == 302
    assert db.scalar(select(User.email).where(User.id == nurse.user_id)) == "nia@alpha.example", "not yet"
    (confirmation,) = mail_to(db, "nia.new@alpha.example")
    path = link_in(confirmation, app)
    fresh = app.test_client()
    assert fresh.get(path).status_code == 200, "opening the link changes nothing by itself"
    assert db.scalar(select(User.email).where(User.id == nurse.user_id)) == "nia@alpha.example"
    fresh.post(path, data={"csrf_token": csrf_token(fresh, path)})

    db.expire_all()
    assert db.get(User, nurse.user_id).email == "nia.new@alpha.example"
    (notice,) = mail_to(db, "nia@alpha.example")
    assert "has changed" in notice.subject
    assert other_device.get("/api/v1/me").status_code == 401, "every other session ends"
    trails = db.scalars(
        select(AuditEvent.org_id).where(AuditEvent.action == "person.email_changed_self")
    ).all()
    assert sorted(trails) == sorted([tree.org.id, elsewhere.org.id]), "audited in each organisation"
    assert sign_in(app.test_client(), "nia.new@alpha.example").status_code == 302


def test_an_email_change_needs_the_password_and_a_free_address(app, db, make, tree, login_as):
    nurse = make.person(tree, email="nia@alpha.example")
    make.person(tree, email="taken@alpha.example")
    client = login_as(nurse)
    wrong = client.post(
        "/profile/email",
        data={
            "change-email": "taken@alpha.example",
            "change-password": "not it",
            "csrf_token": csrf_token(client, "/profile"),
        },
    )
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert "Another account uses this address" in html and "not your current password" in html
    assert 'value="taken@alpha.example"' in html, "what was typed stays"
    assert mail_to(db, "taken@alpha.example") == []


def test_the_person_page_says_whether_the_account_has_been_taken(app, db, b_hr, login_as):
    added = people.add_person(
        db, actor(b_hr), people.PersonInput("new@beta.example", "New Person", "clinician")
    )
    client = login_as(b_hr)
    page = client.get(f"/o/{b_hr.organization.slug}/admin/people/{added.id}").get_data(as_text=True)
    assert "Not yet: they choose a password" in page
    assert 'name="email"' in page, "nobody has taken it: the organisation may still correct the email"
    login_as(added)  # the person signs in
    page = client.get(f"/o/{b_hr.organization.slug}/admin/people/{added.id}").get_data(as_text=True)
    assert "Not yet" not in page and "only they can change their name and email" in page
    assert 'type="email"' not in page, "the email shows as text, not as a field"


def test_someone_who_left_their_organisation_signs_in_to_accept_anothers_invitation(
    app, db, make, tree, b_hr, a_nurse
):
    a_admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True)
    people.deactivate_person(db, actor(a_admin), a_nurse.id)
    browser = app.test_client()
    assert sign_in(browser, "alma@alpha.example").status_code == 400, "no organisation, no invitation"

    invitation = people.add_person(
        db, actor(b_hr), people.PersonInput("alma@alpha.example", "A. N.", "clinician")
    )
    assert sign_in(browser, "alma@alpha.example").status_code == 302
    home = browser.get("/").get_data(as_text=True)
    assert f"{b_hr.organization.name} invites you to join" in home
    resp = browser.post(f"/invitations/{invitation.id}/accept", data={"csrf_token": csrf_token(browser, "/")})
    assert resp.location.endswith(f"/o/{b_hr.organization.slug}/")
    assert browser.get(f"/o/{b_hr.organization.slug}/").status_code == 200
