"""What content/ holds besides modules, as pages: its figures, the glossary and printable templates.

They are read from the content folder (curricula.library), once per process: a deployment ships them with
the modules, and `lms content check` has checked them. Figures are served as files and shown in module
pages with <img>: a browser draws an SVG image without running anything in it or fetching anything it
names, which is the simpler safe way than sanitising SVG into the page. Glossary and templates are for
signed-in people, like the catalogue.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Blueprint, render_template, send_file
from flask_login import login_required

from curricula.body import KEY
from curricula.library import Library, Template, load_library
from lms.commands.content import DEFAULT_ROOT
from lms.services import NotFound

bp = Blueprint("library", __name__)


@lru_cache(maxsize=2)
def library(root: Path = DEFAULT_ROOT) -> Library:
    return load_library(root)


@bp.get("/figures/<name>.svg")
def figure(name: str):
    path = library().figures.get(name) if KEY.match(name) else None
    if path is None:
        raise NotFound("No such figure.")
    return send_file(DEFAULT_ROOT / path, mimetype="image/svg+xml")


@bp.get("/glossary")
@login_required
def glossary():
    return render_template("library/glossary.html", terms=library().glossary)


@bp.get("/templates")
@login_required
def templates():
    return render_template(
        "library/templates.html", templates=sorted(library().templates.values(), key=_title)
    )


@bp.get("/templates/<slug>")
@login_required
def template(slug: str):
    found = library().templates.get(slug)
    if found is None:
        raise NotFound("No such template.")
    return render_template("library/template.html", template=found)


def _title(template: Template) -> str:
    return template.title.casefold()
