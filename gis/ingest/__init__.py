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

Implemented so far: the point layers (posts, cameras, sites, incidents).
Boundary layers and officers are refused with a clear message.
"""

from __future__ import annotations

from gis.ingest.points import POINT_LAYERS, import_file

__all__ = ["POINT_LAYERS", "import_file"]
