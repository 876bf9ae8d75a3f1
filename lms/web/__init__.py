"""Blueprints, one per user-facing area, plus what every page shares: CSRF, errors, navigation."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from lms.db import get_db
from lms.models import Permission
from lms.services import Forbidden, Invalid, NotFound
from lms.services.access import Actor, actor_for, default_actor
from lms.web.fragments import Fragments

csrf = CSRFProtect()


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


def show_refusal(form: FlaskForm, exc: Invalid, aliases: Mapping[str, str] | None = None) -> None:
    """Show a service's refusal on the form, after dropping whatever the refused attempt left in the
    session (the page is drawn from what is stored; the request's boundary rolls back too)."""
    get_db().rollback()
    show_errors(form, exc.errors, aliases)


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
    from lms.web import admin, api, auth, health, home, learning, params, policy, profile

    params.init_app(app)  # the id converter, JSON bodies, NUL: before the blueprints add their routes
    csrf.init_app(app)
    app.extensions["lms.fragments"] = Fragments(app.config.get("PAGE_CACHE_ENTRIES", 1000))
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(policy.bp)
    app.register_blueprint(learning.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # the API checks CSRF itself for cookie-authenticated writes

    @app.context_processor
    def _navigation() -> dict:
        try:
            actor = current_actor()
        except NotFound:  # rendering the 404 page of an organisation this person is not in
            actor = None
        return {"actor": actor, "Permission": Permission}

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
