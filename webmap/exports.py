"""Layer downloads: ``GET /api/export/<layer>.<ext>``, the web twin of
``python -m gis export``.  The file holds what the user may see (the request's
connection carries their scope) and the export is audited."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, g, send_file

from gis import export
from gis.errors import InvalidInput
from webmap import requestdb
from webmap.guard import requires

logger = logging.getLogger(__name__)

bp = Blueprint("exports", __name__, url_prefix="/api/export")


@bp.get("/<layer>.<ext>")
@requires("data.export")
def download(layer: str, ext: str):
    """One layer as a file in the format ``ext`` names (csv, xlsx, geojson,
    gpkg or zip for a zipped Shapefile)."""
    if f".{ext}" not in export.FORMATS or ext in ("shp", "json"):
        raise InvalidInput(
            f"不支持的格式 / unsupported format {ext!r}: csv, xlsx, geojson, gpkg "
            "or zip",
            field="ext",
        )
    folder = Path(tempfile.mkdtemp(prefix="pingan-export-"))
    try:
        path = folder / f"{layer}.{ext}"
        conn = requestdb.connection()
        export.export_layer(conn, layer, path, username=g.user.username)
        conn.commit()
        response = send_file(path, as_attachment=True, download_name=path.name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response
