"""Import planners' files into PostGIS: validate, transform, load — or refuse.

:func:`import_file` is the one entry point (the CLI's ``import`` command and the
web upload call it).  It reads the file in chunks (:mod:`.sources`), recognises
its columns (:mod:`.fields`), converts coordinates to WGS84 (:mod:`.coords`),
checks every row, and then either

- **strict** (default): loads everything, or — at the first error anywhere —
  nothing at all; the report lists every error found;
- **lenient**: loads the good rows and writes every bad row, untouched, to a
  quarantine file beside the report.

Rows are matched to the database by ``code``: a row that is already there
unchanged is left alone, a changed one is updated, a new one inserted; the
database assigns village, grid, township and station.  Each import is one
transaction and one ``import_batch`` row (file, SHA-256, counts, user, report).

Every layer goes through one run (:class:`.pipeline.Run`: transaction, batch
row, chunk loop, report, quarantine, progress); a layer supplies only its
steps (checks, staging, writing).  :mod:`.folder` imports a county's folder of
files in the right order (``import-dir``).

Boundary layers (districts, townships, villages, grids, stations) keep their
history: a changed boundary opens a new generation (:mod:`.areas`).  Officers
and the people of every other duty role (advisers, mediators...) are tables
of people with the villages or grids they answer for, loaded by one loader
(:mod:`.people`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import psycopg2
import sqlalchemy as sa

from gis import catalog
from gis.errors import InvalidInput
from gis.ingest import areas, fields, people, points
from gis.ingest.areas import AREA_LAYERS
from gis.ingest.points import POINT_LAYERS
from gis.ingest.preview import preview
from gis.ingest.report import Report

LAYERS = catalog.names()
"""Every importable layer, in the order the CLI lists them."""


def import_file(
    engine: sa.Engine,
    layer: str,
    path: str | Path,
    report_path: str | Path | None = None,
    **options,
) -> Report:
    """Import ``path`` into ``layer``; return the report (also written to
    ``report_path`` and, when lenient and rows were rejected, a quarantine file
    beside it).

    Options: ``crs``, ``encoding``, ``layer_name`` (GeoPackage layer or Excel
    worksheet), ``mapping`` (target → source column), ``lenient``, ``username``,
    ``progress``, ``dry_run`` (check, write nothing) and, for boundary layers,
    ``valid_from`` (a date: when changed boundaries take effect).

    Raises :class:`~gis.errors.InvalidInput` only for problems with the whole
    file (unknown layer, unreadable file, missing column, unknown CRS); row
    problems are in the report, whose ``status`` is ``loaded``, ``rejected`` or
    (dry run) ``checked``.
    """
    fields.layer_fields(layer)  # an unknown layer gets the usual message
    with _refused_by_the_database(Path(path)):
        if layer in AREA_LAYERS:
            return areas.import_areas(engine, layer, path, report_path, **options)
        if layer in people.ROSTERS:
            return people.import_people(engine, layer, path, report_path, **options)
        return points.import_file(engine, layer, path, report_path, **options)


# SQLSTATEs of a value the database will not store: every integrity
# constraint (class 23), and the data exceptions a file's value can cause (a
# character the encoding lacks or a NUL, a number or time out of range, text
# too long or not of the column's type).  Others (division by zero...) are
# the program's, and stay errors.
_REFUSED_VALUES = ("22021", "22P05", "22003", "22001", "22P02", "22008")


@contextmanager
def _refused_by_the_database(path: Path):
    """A row the checks let through but a database constraint refuses ends the
    import (its transaction rolled back: nothing written) with
    :class:`InvalidInput` naming the constraint, not a server error.  The
    layers' checks mirror the constraints they know of (see
    :func:`gis.ingest.points._layer_rules`); this is for any they do not."""
    try:
        yield
    except (sa.exc.DBAPIError, psycopg2.Error) as exc:
        error = getattr(exc, "orig", exc)
        code = getattr(error, "pgcode", None) or ""
        if not (code.startswith("23") or code in _REFUSED_VALUES):
            raise
        diag = error.diag
        name = diag.constraint_name
        raise InvalidInput(
            f"数据库拒绝了 {path.name} 中的一行，未导入任何数据 / the database "
            f"refused a row of {path.name}, nothing was imported: "
            f"{diag.message_primary}" + (f" (constraint {name})" if name else ""),
            field="file",
        ) from None


__all__ = ["AREA_LAYERS", "LAYERS", "POINT_LAYERS", "import_file", "preview"]
