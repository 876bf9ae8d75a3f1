"""Blueprints, one per user-facing area, plus what every page shares: CSRF, errors, navigation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from flask import Flask, flash, g, jsonify, redirect, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from lms.db import get_db
from lms.models import Permission
from lms.services import Forbidden, Invalid, NotFound
from lms.services.access import Actor, actor_for, default_actor

csrf = CSRFProtect()

T = TypeVar("T")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def current_actor() -> Actor | None:
    """The signed-in person's membership in the organisation of this page (cached per request).

    Pages under /o/<org>/ act in that organisation (404 for a non-member); others in the person's first.
    """
    if "lms_actor" in g:
        return g.lms_actor
    actor = None
    if current_user.is_authenticated:
        slug = (request.view_args or {}).get("org")
        actor = actor_for(current_user, slug) if slug else default_actor(current_user)
    g.lms_actor = actor
    return actor


def acting_actor(missing: str = "No such organisation.") -> Actor:
    """current_actor() on a page that needs one (login_required has run): NotFound without one."""
    actor = current_actor()
    if actor is None:
        raise NotFound(missing)
    return actor


def refused(form: FlaskForm) -> None:
    """Mark a form as refused on this request: base.html puts the error summary at the top of the page
    (a link to each field with its message) and moves the focus to it."""
    forms = g.setdefault("lms_refused", [])
    if all(f is not form for f in forms):
        forms.append(form)


def refused_status() -> int:
    """A page shown again after a POST means the POST was refused."""
    return 400 if request.method == "POST" else 200


def show_refusal(form: FlaskForm, exc: Invalid, aliases: Mapping[str, str] | None = None) -> None:
    """Show a service's refusal on the form, after dropping whatever the refused attempt left in the
    session (the page is drawn from what is stored; the request's boundary rolls back too)."""
    get_db().rollback()
    show_errors(form, exc.errors, aliases)
    refused(form)


def submit_change(
    form: FlaskForm,
    change: Callable[[], T],
    message: Callable[[T], str],
    target: Callable[[T], str],
    aliases: Mapping[str, str] | None = None,
) -> Response | None:
    """The one way a page's form is handled. For a valid form, call the service: on success flash the
    message and redirect (POST, redirect, GET; base.html focuses the message at the top of the page); on
    refusal, or when the form itself is invalid, mark it refused and answer None, so the view shows its
    page again, with what was typed, at the page's own address (forms post to the page's URL)."""
    if not form.validate_on_submit():
        if form.errors:
            refused(form)
        return None
    try:
        result = change()
    except Invalid as exc:
        show_refusal(form, exc, aliases)
        return None
    flash(message(result), "success")
    return redirect(target(result))


def show_errors(
    form: FlaskForm, errors: Mapping[str, list[str]], aliases: Mapping[str, str] | None = None
) -> None:
    """Attach a service's Invalid errors to the form: by field where the form has one, else to the form."""
    for key, messages in errors.items():
        name = (aliases or {}).get(key, key)
        field = form._fields.get(name) if name and name != "csrf_token" else None
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]


def _error(status: int, message: str):
    if wants_json():
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    from lms.web import (
        admin,
        after_response,
        api,
        auth,
        coaching,
        coverage,
        follow_ups,
        form_tokens,
        gemba,
        health,
        home,
        job_codes,
        journal,
        learning,
        library,
        operator,
        params,
        policy,
        profile,
        prompts,
        roster,
        scim,
        scim_page,
    )

    params.init_app(app)  # the id converter, JSON bodies, NUL: before the blueprints add their routes
    csrf.init_app(app)
    form_tokens.init_app(app)
    after_response.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(operator.bp)
    app.register_blueprint(policy.bp)
    app.register_blueprint(coverage.bp)
    app.register_blueprint(learning.bp)
    app.register_blueprint(library.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(journal.bp)
    app.register_blueprint(coaching.bp)
    app.register_blueprint(gemba.bp)
    app.register_blueprint(follow_ups.bp)
    app.register_blueprint(prompts.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API checks CSRF itself for cookie-authenticated writes
    app.register_blueprint(scim.bp)
    csrf.exempt(scim.bp)  # bearer tokens only: SCIM reads no cookie
    app.register_blueprint(scim_page.bp)
    app.register_blueprint(job_codes.bp)
    app.register_blueprint(roster.bp)

    @app.context_processor
    def _navigation() -> dict:
        try:
            actor = current_actor()
        except NotFound:  # rendering the 404 page of an organisation this person is not in
            actor = None
        return {"actor": actor, "Permission": Permission, "refused_forms": g.get("lms_refused", [])}

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return _error(404, str(exc) or "Not found.")

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden):
        return _error(403, str(exc))

    @app.errorhandler(Invalid)
    def _invalid(exc: Invalid):
        if wants_json():
            return jsonify(error=str(exc), status=400, fields=exc.errors), 400
        return _error(400, str(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return _error(
            400, "This form has expired or was not sent from this site. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        body, status = _error(exc.code or 500, exc.description or exc.name)
        allowed = getattr(exc, "valid_methods", None)  # a 405 says which methods the address takes
        return body, status, {"Allow": ", ".join(allowed)} if allowed else {}
