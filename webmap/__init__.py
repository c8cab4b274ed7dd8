"""Pingan Grid web app (Flask).  Views are thin: parse, call :mod:`gis`, render."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from gis import config as gis_config
from gis import db as gis_db

logger = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    """Application factory.

    Parameters
    ----------
    config : dict, optional
        Overrides, e.g. ``{"DATABASE_URL": ..., "TESTING": True}``.  Without one,
        everything comes from the environment (see :mod:`gis.config`).
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=gis_config.secret_key(),
        TOKEN_HOURS=gis_config.token_hours(),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,  # a full lookup batch is ~0.5 MB
        UPLOAD_MB=gis_config.upload_mb(),  # the import page only (webmap.uploads)
        UPLOAD_DIR=str(gis_config.var_dir() / "uploads"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if config:
        app.config.update(config)
    # A browser session lasts as long as an API token.
    app.permanent_session_lifetime = timedelta(hours=app.config["TOKEN_HOURS"])
    if not app.config.get("DATABASE_URL"):
        # The embedded cluster's URL is known without starting it; /healthz says
        # 503 if it is not running.
        app.config["DATABASE_URL"] = gis_db.database_url()
    if not app.config.get("WEB_DATABASE_URL"):
        app.config["WEB_DATABASE_URL"] = gis_db.web_url(app.config["DATABASE_URL"])
    app.config.setdefault("BASEMAP", gis_config.basemap())
    app.json.ensure_ascii = False

    from webmap import (
        admin,
        analysis,
        api,
        auth,
        errors,
        exports,
        forms,
        gaps,
        guard,
        health,
        incidents,
        inputs,
        layers,
        login,
        pages,
        requestdb,
        security,
        siting,
        station,
        uploads,
    )

    requestdb.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    forms.init_app(app)
    guard.init_app(app)  # after forms: a form's size limit applies first
    inputs.init_app(app)  # after the guard: anonymous callers get their 401
    app.register_blueprint(pages.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(layers.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(gaps.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(siting.bp)
    app.register_blueprint(station.bp)
    app.register_blueprint(analysis.bp)
    return app
