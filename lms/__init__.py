"""Lead with Quality: the application shell (models, services, web, API, CLI, scheduler)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import config
from lms.urls import App


def create_app(overrides: Mapping[str, Any] | None = None, *, create_instance: bool = True) -> Flask:
    """Application factory: config from LMS_* environment variables, then test overrides. Without
    `create_instance` the instance folder must exist already (lms.config.MissingInstance)."""
    cfg = config.load(overrides=overrides, create_instance=create_instance)
    app = App(__name__, instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(cfg)
    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    from lms import db, kept, login, security, signed_in, web
    from lms.services import coverage_upkeep

    db.init_app(app)
    kept.init_app(app)
    signed_in.init_app(app)
    coverage_upkeep.install()
    security.init_app(app)
    login.init_app(app)
    web.init_app(app)

    from lms import cli

    cli.init_app(app)
    return app
