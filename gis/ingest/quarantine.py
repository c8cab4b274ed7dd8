"""Quarantine files: the rows an import rejected, exactly as they came in.

Beside the report ``R.json``: ``R.quarantine.csv`` (same encoding and columns as
the input CSV), ``R.quarantine.xlsx`` for spreadsheets, ``R.quarantine.geojson``
for vector files (attributes and geometry as read, in the file's own CRS).  A
clerk corrects them and imports the quarantine file again.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import geopandas as gpd

from gis.ingest.sources import Source

logger = logging.getLogger(__name__)


def write_quarantine(source: Source, rows: list, report_path: Path) -> Path:
    """Write ``rows`` (the chunks' ``raw`` entries) next to ``report_path``."""
    stem = report_path.with_suffix("")
    if source.format == "csv":
        path = Path(f"{stem}.quarantine.csv")
        with path.open("w", encoding=source.encoding, newline="") as out:
            writer = csv.writer(out, delimiter=source.delimiter)
            writer.writerow(source.header)
            writer.writerows(rows)
        return path
    if source.format == "xlsx":
        from openpyxl import Workbook

        path = Path(f"{stem}.quarantine.xlsx")
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(source.header)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return path
    path = Path(f"{stem}.quarantine.geojson")
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in row.items() if k != "__geometry__"} for row in rows],
        geometry=[row["__geometry__"] for row in rows],
        crs=source.crs,
    )
    frame.to_file(path, driver="GeoJSON")
    return path
