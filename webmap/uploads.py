"""The import pages: upload a file, see a preview and the dry-run report, confirm.

``GET /import`` is the form; ``POST /import`` stores the upload
(:mod:`gis.ingest.uploads`) and shows :func:`gis.ingest.preview` and a dry run
of :func:`gis.ingest.import_file`; ``POST /import/<id>/commit`` runs the import
with the options stored at upload time, so what is imported is exactly what was
previewed.  For admins and planners (``data.import``).

The layer ``folder`` (整个文件夹) takes a zip of a county's folder of files:
it is unpacked, checked as a whole by a dry run of ``import-dir``
(:mod:`gis.ingest.folder`), and imported file by file on confirmation.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, current_app, g, render_template, request, send_file

from gis import catalog, config, ingest
from gis.errors import InvalidInput
from gis.ingest import fields, folder, sources, uploads
from webmap import forms, requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("uploads", __name__)

SEVERITY_LABELS = {"error": "错误", "repaired": "已修复", "warning": "提示"}
FINDINGS_SHOWN = 500  # the rest are in the downloadable CSV
_ACCEPT = ",".join(uploads.SINGLE_FILES + uploads.SHAPEFILE_PARTS)
FOLDER = "folder"  # the layer choice for a zipped folder of every layer
FOLDER_TITLE = "整个文件夹（zip，各图层按顺序导入）"


def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _render_form(status: int = 200, error: str | None = None, values=None):
    page = render_template(
        "import.html",
        layers={**catalog.titles(), FOLDER: FOLDER_TITLE},
        accept=_ACCEPT,
        limit_mb=current_app.config["UPLOAD_MB"],
        values=values or {},
        error=error,
    )
    return page, status


def _options(form) -> tuple[str, dict]:
    """The layer and the import options a form asks for (InvalidInput if bad)."""
    layer = form.get("layer", "")
    if layer not in catalog.LAYERS and layer != FOLDER:
        raise InvalidInput(f"请选择图层 / choose a layer, got {layer!r}", field="layer")
    pairs = [line for line in form.get("mapping", "").splitlines() if line.strip()]
    options = {
        "crs": form.get("crs", "").strip() or None,
        "encoding": form.get("encoding", "").strip() or None,
        "layer_name": form.get("layer_name", "").strip() or None,
        "mapping": fields.parse_mapping(pairs) or None,
        "lenient": form.get("lenient") == "1",
    }
    return layer, options


def _load(upload_id: str) -> uploads.Upload:
    return uploads.load(_root(), upload_id, g.user.username, g.user.role)


@bp.get("/import")
@requires("data.import")
def form():
    """The upload form."""
    return _render_form()


@bp.post("/import")
@forms.accepts_upload("UPLOAD_MB")
@requires("data.import")
def upload():
    """Store the upload, then show its preview and dry-run report."""
    try:
        layer, options = _options(request.form)
        files = [(f.filename, f.stream) for f in request.files.getlist("file")]
        uploads.sweep(_root())
        stored = uploads.save(_root(), g.user.username, layer, files, options)
    except InvalidInput as exc:
        return _render_form(400, exc.message, request.form)
    return _preview(stored)


def _preview(upload: uploads.Upload):
    """The first rows and a dry run of at most ``PINGAN_PREVIEW_ROWS`` rows (a
    million-row file would hold this worker for a minute; its import checks
    every row anyway).  A zipped folder: the dry run of every file."""
    if upload.layer == FOLDER:
        return _folder(upload, dry_run=True)
    info = report = error = bounded = None
    opts = upload.options
    try:
        info = ingest.preview(
            upload.path, upload.layer, encoding=opts["encoding"],
            layer_name=opts["layer_name"], mapping=opts["mapping"],
        )  # fmt: skip
        check = upload.report_path(uploads.CHECK)
        with sources.rows_at_most(config.preview_rows()) as bound:
            report = ingest.import_file(
                requestdb.owner_engine(), upload.layer, upload.path, check,
                dry_run=True, **opts,
            )  # fmt: skip
        if bound.cut:
            bounded = bound.read
            report.notes.append(bound.note())
            report.write(check)
    except InvalidInput as exc:  # the file as a whole cannot be imported
        error = exc.message
    page = render_template(
        "import_preview.html", **_page(upload), info=info, report=report,
        error=error, bounded=bounded,
    )  # fmt: skip
    return page, 400 if error else 200


@bp.post("/import/<upload_id>/commit")
@requires("data.import")
def commit(upload_id: str):
    """Run the import that was previewed, and show its report."""
    upload = _load(upload_id)
    if upload.layer == FOLDER:
        return _folder(upload, dry_run=False)
    if upload.committed:  # a second click: show what the first one did
        return render_template(
            "import_report.html", **_page(upload), report=upload.saved_report()
        )
    upload.claim_commit()
    try:
        report = ingest.import_file(
            requestdb.owner_engine(), upload.layer, upload.path, upload.report_path(),
            username=g.user.username, **upload.options,
        )  # fmt: skip
    except BaseException:
        upload.release_commit()  # nothing was imported: a retry may run
        raise
    return render_template("import_report.html", **_page(upload), report=report)


@bp.get("/import/<upload_id>/files/<name>")
@requires("data.import")
def download(upload_id: str, name: str):
    """A report or quarantine file of an upload (its owner and admins only)."""
    upload = _load(upload_id)
    stem = Path(upload.filename).stem
    return send_file(
        upload.download(name), as_attachment=True, download_name=f"{stem}.{name}"
    )


def _folder(upload: uploads.Upload, dry_run: bool):
    """A zipped folder: its dry run (the preview) or its import, once."""
    summary = upload.directory / ("folder-check.json" if dry_run else "folder.json")
    if not dry_run and summary.is_file():  # a second click: what the first did
        return _folder_page(upload, folder.FolderReport.load(summary))
    if not dry_run:
        upload.claim_commit()
    try:
        unpacked = upload.directory / "unpacked"
        if not unpacked.is_dir():
            folder.unpack(upload.path, unpacked)
        result = folder.import_dir(
            requestdb.owner_engine(), unpacked, dry_run=dry_run,
            crs=upload.options.get("crs"), encoding=upload.options.get("encoding"),
            lenient=upload.options.get("lenient", False), username=g.user.username,
        )  # fmt: skip
    except InvalidInput as exc:  # not a readable zip, or an unsafe one
        return _folder_page(upload, None, exc.message), 400
    except BaseException:
        if not dry_run:
            upload.release_commit()
        raise
    result.write(summary)
    return _folder_page(upload, result)


def _folder_page(upload: uploads.Upload, result, error: str | None = None):
    return render_template(
        "import_folder.html", **_page(upload), result=result, error=error,
        titles=catalog.titles(),
    )


def _page(upload: uploads.Upload) -> dict:
    """What every page about one upload shows."""
    title = FOLDER_TITLE if upload.layer == FOLDER else catalog.get(upload.layer).title
    return {
        "upload": upload,
        "layer_label": title,
        "severity_labels": SEVERITY_LABELS,
        "shown": FINDINGS_SHOWN,
    }
