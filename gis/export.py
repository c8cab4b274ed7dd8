"""Export any layer to the files planners use, so data round-trips through import.

:func:`export_layer` writes one layer — a boundary kind, posts, officers, people,
cameras, sites or incidents — to the format its file extension names:

==============  =================================================================
``.geojson``    RFC 7946: WGS84, UTF-8, exterior rings counter-clockwise
``.json``
``.gpkg``       GeoPackage, one layer named after the exported layer
``.shp``        Shapefile, UTF-8 (default) or ``--encoding gbk`` for ArcMap on a
                Chinese Windows; the ``.cpg`` says which
``.zip``        the same Shapefile, zipped
``.csv``        UTF-8 with a BOM so Excel opens it (``--encoding gbk`` or
                ``utf-8`` without a BOM on request)
``.xlsx``       one worksheet, written in openpyxl's streaming (write-only) mode
==============  =================================================================

Columns carry the canonical names of :mod:`gis.catalog`, which the importer
recognises, so the file goes back in with ``python -m gis import`` and no
``--map``:

- points are Point geometries, or ``lon``/``lat`` columns in CSV/XLSX, written
  with every digit of the stored double; boundaries are MultiPolygons, or a
  ``wkt`` column in CSV/XLSX (the shortest text that reads back to the same
  doubles);
- times are ISO 8601 in Beijing time with the offset (``2025-03-01T08:30:00+08:00``),
  dates ``YYYY-MM-DD``; enumerations are the stored codes (``police_room``);
- a Shapefile (DBF) field name holds 10 bytes, so five long names are shortened
  (:data:`SHAPEFILE_NAMES`) and the importer knows the short forms too;
- incidents add read-only ``village``, ``grid``, ``township`` and ``station``
  columns (the codes the database assigned); the importer ignores them and
  assigns again;
- boundary layers carry ``parent`` (the parent's code) and ``valid_from``; by
  default the current generation, with ``at`` the one in force on that day;
- officers and people (no geometry; CSV/XLSX only) carry ``post`` (the post's
  code) and ``areas`` (codes of the villages and grids they answer for now,
  ``;``-separated); people their role's code.  Only active ones are exported:
  the importer has no column for the flag.

Rows are read with a server-side cursor, :data:`CHUNK_ROWS` at a time, and
streamed out, so a million incidents need the memory of one chunk.  GeoPackage
and Shapefile chunks are appended with pyogrio; GeoJSON is written here, feature
by feature (GDAL's GeoJSON driver rewrites the whole file in memory to append).
The file is built beside the target and moved into place only when complete, so
a refused export leaves nothing behind (nor a half-overwritten file).

What a format cannot hold refuses the export with :class:`InvalidInput` naming
the row and column, rather than losing data: text over 254 bytes or a character
the encoding lacks in a Shapefile, a character GBK lacks in a GBK CSV, a cell
over 32,767 characters (a long boundary's WKT) or control characters in XLSX.
CSV cells are written as they are: a leading ``=`` is not escaped, since that
would change the data; in XLSX text is always text, never a formula.  Each
export is recorded in ``audit_log`` (action ``layer.export``).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gis import audit, catalog, clock
from gis.errors import InvalidInput
from gis.params import parse_date

logger = logging.getLogger(__name__)

CHUNK_ROWS = 50_000

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "shapefile",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
TABLE_FORMATS = ("csv", "xlsx")

BOUNDARY_KINDS = catalog.boundary_kinds()
"""Boundary layer → ``area.kind`` (:mod:`gis.catalog`)."""

SHAPEFILE_NAMES = {
    "reported_at": "report_at",
    "resolved_at": "resolve_at",
    "resolved_level": "res_level",
    "last_seen_at": "last_seen",
    "description": "descript",
    "patrol_strength": "patrol",
}
"""Canonical names longer than a DBF field name (10 bytes) → what Shapefiles use.
The catalog's synonyms know them, and GDAL's own truncations."""

INCIDENT_AREAS = ("village", "grid", "township", "station")
"""Read-only incident columns: the codes of the areas the database assigned."""

DBF_TEXT_BYTES = 254
XLSX_CELL_CHARS = 32_767
XLSX_ROWS = 1_048_576


@dataclass(frozen=True)
class _Layer:
    """How to read one layer: ``x`` is the main table's alias in the SQL."""

    table: str
    columns: tuple[tuple[str, str, str], ...]  # output name, SQL, kind
    geometry: str | None = None  # "Point" | "MultiPolygon" | None (a table)
    joins: str = ""
    where: str = "true"


# The export kind of each catalog property type: how values are converted.
_KINDS = {"int": "int", "float": "float", "angle": "float", "time": "time",
          "date": "date"}  # fmt: skip


def _areas(links: str, key: str) -> str:
    """SQL: the codes of the areas a person answers for now, ``;``-separated
    (what the import's ``areas`` reads)."""
    return (
        "(SELECT string_agg(DISTINCT a.code, ';' ORDER BY a.code) "
        f"FROM {links} l JOIN area a ON a.id = l.area_id "
        f"WHERE l.{key} = x.id AND l.valid_to IS NULL)"
    )


# Properties that are no column of the layer's table: their SQL (a table's
# own, in _TABLES' "derived", wins).
_DERIVED = {
    "lon": "ST_X(x.geom)",
    "lat": "ST_Y(x.geom)",
    "wkt": "ST_AsText(x.geom, 15)",
    "parent": "p.code",  # area
    "post": "p.code",  # officer, person
}

# What each table joins and keeps, beyond its catalog properties.
_TABLES = {
    "area": {"joins": "LEFT JOIN area p ON p.id = x.parent_id"},
    "incident": {
        "extra": tuple((area, f"{area[0]}.code", "text") for area in INCIDENT_AREAS),
        "joins": "LEFT JOIN area v ON v.id = x.village_id "
        "LEFT JOIN area g ON g.id = x.grid_id "
        "LEFT JOIN area t ON t.id = x.township_id "
        "LEFT JOIN area s ON s.id = x.station_id",
    },
    # Only active people: the importer has no column for the flag.
    "officer": {"joins": "LEFT JOIN post p ON p.id = x.post_id", "where": "x.active",
                "derived": {"areas": _areas("officer_area", "officer_id")}},
    "person": {"joins": "LEFT JOIN post p ON p.id = x.post_id", "where": "x.active",
               "derived": {"areas": _areas("person_area", "person_id")}},
    "grid_member": {"derived": {"areas": _areas("grid_member_area", "member_id")}},
}  # fmt: skip


# Boundaries: the current generation, or the one in force on :at (the rule of
# area_at() in the schema: valid_from inclusive, valid_to exclusive).
_CURRENT = "x.kind = :kind AND x.valid_to IS NULL"
_IN_FORCE = (
    "x.kind = :kind AND x.valid_from <= :at "
    "AND (x.valid_to IS NULL OR x.valid_to > :at)"
)

# The geometry each vector format reads.  15 decimals is every digit a double
# in degrees has (PostGIS prints the shortest text that reads back the same).
_GEOMETRY_SQL = {
    "geojson": "ST_AsGeoJSON(ST_ForcePolygonCCW(x.geom), 15)",  # RFC 7946 winding
    "gpkg": "ST_AsBinary(x.geom)",
    "shapefile": "ST_AsBinary(x.geom)",
}


def export_layer(
    engine: sa.Engine | sa.Connection,
    layer: str,
    path: str | Path,
    *,
    encoding: str | None = None,
    at: date | str | None = None,
    username: str | None = None,
    progress: bool = False,
    chunk_size: int = CHUNK_ROWS,
) -> int:
    """Write ``layer`` to ``path`` in the format its extension names.

    Parameters
    ----------
    engine : sqlalchemy.Engine or Connection
        An engine (the export is its own transaction), or a connection whose
        transaction the caller commits: a web request's, whose row policies
        limit the rows to what its user may see.
    layer : str
        districts, townships, villages, grids, stations, posts, officers,
        people, cameras, sites or incidents.
    path : str or Path
        ``.geojson``/``.json``, ``.gpkg``, ``.shp``, ``.zip`` (zipped
        Shapefile), ``.csv`` or ``.xlsx``.  An existing file is replaced.
    encoding : str, optional
        CSV: ``utf-8-sig`` (default: UTF-8 with a BOM), ``utf-8``, ``gbk``, ...;
        Shapefile: ``utf-8`` (default) or ``gbk``, ...  Other formats are
        always UTF-8.
    at : date or str, optional
        Boundary layers only: export the generation in force on that day
        (``YYYY-MM-DD``) instead of the current one.
    username : str, optional
        Who exported, for ``audit_log``.
    progress : bool
        Show a progress bar (tqdm) on stderr.
    chunk_size : int
        Rows read from the database and written per step.

    Returns
    -------
    int
        Features (rows) written.

    Raises
    ------
    InvalidInput
        Unknown layer, extension or encoding; ``at`` on a non-boundary layer or
        not a date; officers or people to a geometry format; a value the format cannot
        hold (the message names the row's code, the column and a format that
        can).  Nothing is written then.

    Examples
    --------
    >>> export_layer(engine, "villages", "villages.shp", encoding="gbk")
    168
    """
    path = Path(path)
    spec, fmt = _layer_spec(layer), _format(path)
    encoding = _encoding(fmt, encoding)
    at = _at(layer, at)
    if spec.geometry is None and fmt not in TABLE_FORMATS:
        raise InvalidInput(
            f"{layer} 没有几何，只能导出为 .csv 或 .xlsx / {layer} has no geometry: "
            f"export it to .csv or .xlsx, not {path.suffix}",
            field="path",
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not path.parent.is_dir():
        raise InvalidInput(
            f"目录不存在 / no such directory: {path.parent}", field="path"
        )
    query = _query(spec, fmt, layer, at)
    opened = (
        engine.begin()
        if isinstance(engine, sa.Engine)
        else contextlib.nullcontext(engine)
    )
    with opened as conn, _staging(path) as staged:
        writer = _writer(fmt, staged, layer, query.columns, spec.geometry, encoding)
        count = _write(conn, query, writer, progress, chunk_size)
        _publish(staged, path)
        audit.record(conn, username, "layer.export", "layer", layer, {
            "path": str(path.absolute()), "format": fmt, "encoding": encoding,
            "features": count, "at": at,
        })  # fmt: skip
    logger.info("exported %d %s to %s", count, layer, path)
    return count


def _layer_spec(layer: str) -> _Layer:
    """The columns of ``layer`` as :mod:`gis.catalog` describes them: stored
    properties read as they are, the others by :data:`_DERIVED`."""
    entry = catalog.get(layer)
    table = _TABLES.get(entry.table, {})
    derived = {**_DERIVED, **table.get("derived", {})}
    columns = tuple(
        (p.name, f"x.{p.name}" if p.stored else derived[p.name],
         _KINDS.get(p.kind, "text"))
        for p in entry.exported
    )  # fmt: skip
    return _Layer(
        entry.table,
        columns + table.get("extra", ()),
        entry.geometry,
        joins=table.get("joins", ""),
        where=table.get("where", "true"),
    )


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"不支持的导出格式 / unsupported export format {path.suffix or path.name!r}"
            f"; the extension names it: {', '.join(FORMATS)}",
            field="path",
        )
    return fmt


def _encoding(fmt: str, encoding: str | None) -> str:
    """The Python codec to write with (``utf-8-sig``: UTF-8 with a BOM)."""
    if not encoding:
        return "utf-8-sig" if fmt == "csv" else "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InvalidInput(
            f"未知编码 / unknown encoding {encoding!r}", field="encoding"
        ) from None
    if fmt == "shapefile" and name == "utf-8-sig":
        name = "utf-8"  # a DBF has no BOM; the .cpg says UTF-8
    if fmt not in ("csv", "shapefile") and name not in ("utf-8", "utf-8-sig"):
        raise InvalidInput(
            f"{fmt} 总是 UTF-8，--encoding 只用于 .csv、.shp、.zip / {fmt} is always "
            f"UTF-8; --encoding applies to .csv, .shp and .zip, got {encoding!r}",
            field="encoding",
        )
    return name


def _at(layer: str, at: date | str | None) -> date | None:
    if isinstance(at, str):
        at = parse_date(at)
    if at is not None and layer not in BOUNDARY_KINDS:
        raise InvalidInput(
            f"--at 只用于边界图层 / --at applies to boundary layers "
            f"({', '.join(BOUNDARY_KINDS)}), not {layer}",
            field="at",
        )
    return at


@dataclass(frozen=True)
class _Query:
    """What to read for one export: the columns written, in order, with their
    kinds; the SELECT (geometry last, when the format has one); its count."""

    layer: str
    columns: list[tuple[str, str]]
    select: sa.TextClause
    count: sa.TextClause
    params: dict


def _query(spec: _Layer, fmt: str, layer: str, at: date | None) -> _Query:
    """Trusted SQL fragments from this module; values travel as parameters."""
    if fmt in TABLE_FORMATS:
        columns, geometry = list(spec.columns), None
    else:  # the geometry as such, not as text columns
        columns = [c for c in spec.columns if c[0] not in catalog.GEOMETRY_TEXT]
        geometry = _GEOMETRY_SQL[fmt]
    where = spec.where
    if spec.table == "area":
        where = _CURRENT if at is None else _IN_FORCE
    expressions = [f"{sql} AS {name}" for name, sql, _ in columns]
    if geometry:
        expressions.append(f"{geometry} AS geometry")
    return _Query(
        layer,
        [(name, kind) for name, _, kind in columns],
        sa.text(
            f"SELECT {', '.join(expressions)} FROM {spec.table} x {spec.joins} "
            f"WHERE {where} ORDER BY x.code"
        ),
        sa.text(f"SELECT count(*) FROM {spec.table} x WHERE {where}"),
        {"kind": BOUNDARY_KINDS.get(layer), "at": at},
    )


@dataclass
class _Chunk:
    """Consecutive rows: output column → values (None when empty), and the
    geometry of each row as the format reads it (WKB or GeoJSON text)."""

    columns: dict[str, list]
    geometry: list | None

    def __len__(self) -> int:
        return len(self.columns["code"])

    def code(self, i: int) -> str:
        return self.columns["code"][i]


def _iso_date(value):
    return None if value is None else value.isoformat()


_CONVERT = {"time": clock.iso, "date": _iso_date}


def _chunks(conn: sa.Connection, query: _Query, size: int) -> Iterator[_Chunk]:
    """The query's rows, ``size`` at a time, from a server-side cursor."""
    result = conn.execute(
        query.select, query.params, execution_options={"yield_per": size}
    )
    for rows in result.partitions(size):
        values = list(zip(*rows, strict=True))
        out = {}
        for (name, kind), column in zip(query.columns, values, strict=False):
            convert = _CONVERT.get(kind)
            out[name] = [convert(v) for v in column] if convert else list(column)
        geometry = None
        if len(values) > len(query.columns):
            geometry = [
                bytes(g) if isinstance(g, memoryview) else g for g in values[-1]
            ]
        yield _Chunk(out, geometry)


def _write(conn, query: _Query, writer, progress: bool, size: int) -> int:
    """Stream the rows of ``query`` into ``writer``; return how many."""
    from tqdm import tqdm

    total = None
    if progress:  # one count(*) for the bar's total; not worth it otherwise
        total = conn.execute(query.count, query.params).scalar()
    bar = tqdm(total=total, unit=" rows", disable=not progress, desc=query.layer)
    count = 0
    try:
        for chunk in _chunks(conn, query, size):
            writer.write(chunk)
            count += len(chunk)
            bar.update(len(chunk))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
    return count


@contextlib.contextmanager
def _staging(path: Path) -> Iterator[Path]:
    """A scratch path beside ``path`` (same file system, so the final move is a
    rename), removed with everything in it afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield scratch / path.name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _publish(staged: Path, path: Path) -> None:
    """Move the finished file (a Shapefile's every part) to ``path``."""
    if path.suffix.lower() != ".shp":
        os.replace(staged, path)
        return
    # A spatial index left by another program would describe the old file.
    for stale in (".qix", ".sbn", ".sbx"):
        path.with_suffix(stale).unlink(missing_ok=True)
    for part in staged.parent.iterdir():
        if part.stem == staged.stem and part.suffix.lower() in _SHAPEFILE_PARTS:
            os.replace(part, path.with_name(path.stem + part.suffix))


# -- writers ----------------------------------------------------------------------


def _writer(fmt: str, path: Path, layer: str, names, geometry_type, encoding):
    """The writer of ``fmt``; ``names`` are (column, kind) in order."""
    if fmt == "csv":
        return _CsvWriter(path, names, encoding)
    if fmt == "xlsx":
        return _XlsxWriter(path, layer, names)
    if fmt == "geojson":
        return _GeoJsonWriter(path, layer)
    if path.suffix.lower() == ".zip":
        return _ZipWriter(path, names, geometry_type, encoding)
    return _OgrWriter(path, layer, names, geometry_type, encoding, fmt)


def _unencodable(chunk: _Chunk, codec: str, advice: str) -> InvalidInput:
    """The error for the first value of ``chunk`` that ``codec`` cannot hold."""
    for name, values in chunk.columns.items():
        for i, value in enumerate(values):
            if not isinstance(value, str):
                continue
            try:
                value.encode(codec)
            except UnicodeEncodeError as exc:
                char = value[exc.start]
                return InvalidInput(
                    f"{chunk.code(i)} 的 {name} 含有 {codec} 无法表示的字符 {char!r}"
                    f" / {name} of {chunk.code(i)} holds {char!r}, which {codec} "
                    f"cannot encode; {advice}",
                    field="encoding",
                )
    raise AssertionError("an encoding error with no value to blame")


class _CsvWriter:
    """CSV (RFC 4180 quoting), encoded chunk by chunk so a character the
    encoding lacks is reported by row, not half-way through a write."""

    def __init__(self, path: Path, names, encoding: str):
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.file = path.open("wb")
        if encoding == "utf-8-sig":
            self.file.write(codecs.BOM_UTF8)  # once, not before every chunk
        self._emit([[name for name, _ in names]], None)

    def write(self, chunk: _Chunk) -> None:
        self._emit(zip(*chunk.columns.values(), strict=True), chunk)

    def _emit(self, rows, chunk: _Chunk | None) -> None:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)  # None → empty; floats → repr
        try:
            data = buffer.getvalue().encode(self.codec)
        except UnicodeEncodeError:
            raise _unencodable(
                chunk, self.codec, "export as UTF-8 (leave out --encoding)"
            ) from None
        self.file.write(data)

    def finish(self) -> None:
        self.file.close()

    def abort(self) -> None:
        self.file.close()


def xlsx_text(sheet, value: str):
    """``value`` as a cell of a write-only ``sheet`` holding text, never a formula.

    openpyxl stores a string that starts with ``=`` as a formula, which Excel
    would run when the file is opened; typed as text it is shown as written.
    """
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


class _XlsxWriter:
    """One worksheet in openpyxl's write-only mode (rows streamed to disk)."""

    def __init__(self, path: Path, layer: str, names):
        from openpyxl import Workbook

        self.path = path
        self.names = [name for name, _ in names]
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(layer)
        self.sheet.append(self.names)
        self.rows = 1

    def write(self, chunk: _Chunk) -> None:
        self.rows += len(chunk)
        if self.rows > XLSX_ROWS:
            raise InvalidInput(
                f"超过 Excel 工作表上限 {XLSX_ROWS} 行 / more rows than an Excel sheet "
                f"holds ({XLSX_ROWS:,}); export to .csv or .gpkg instead",
                field="path",
            )
        for i, row in enumerate(zip(*chunk.columns.values(), strict=True)):
            self.sheet.append(
                [
                    self._cell(v, name, chunk, i)
                    for v, name in zip(row, self.names, strict=True)
                ]
            )

    def _cell(self, value, name: str, chunk: _Chunk, i: int):
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if isinstance(value, float):
            # openpyxl prints numbers with %.16g, a digit short of what a double
            # needs to read back unchanged; give it the shortest exact text.
            cell = WriteOnlyCell(self.sheet, repr(value))
            cell.data_type = "n"
            return cell
        if not isinstance(value, str):
            return value
        if len(value) > XLSX_CELL_CHARS:
            raise InvalidInput(
                f"{chunk.code(i)} 的 {name} 有 {len(value)} 个字符，超过 Excel 单元格"
                f"上限 {XLSX_CELL_CHARS} / {name} of {chunk.code(i)} has "
                f"{len(value):,} characters, more than an Excel cell holds "
                f"({XLSX_CELL_CHARS:,}); export to .csv, .gpkg or .geojson instead",
                field="path",
            )
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise InvalidInput(
                f"{chunk.code(i)} 的 {name} 含有 Excel 不能保存的控制字符 / {name} of "
                f"{chunk.code(i)} holds a control character Excel cannot store; "
                "export to .csv instead",
                field="path",
            )
        if value.startswith("="):
            return xlsx_text(self.sheet, value)
        return value

    def finish(self) -> None:
        self.book.save(self.path)

    def abort(self) -> None:
        # Finish the sheet's stream (openpyxl removes its scratch file at exit);
        # left open, it would try to write to a closed file when collected.
        with contextlib.suppress(Exception):  # the first error is the one to see
            self.sheet.close()


class _GeoJsonWriter:
    """A FeatureCollection streamed feature by feature (geometry from PostGIS)."""

    def __init__(self, path: Path, layer: str):
        self.file = path.open("w", encoding="utf-8", newline="\n")
        self.file.write(
            f'{{"type": "FeatureCollection", "name": {json.dumps(layer)}, '
            '"features": [\n'
        )
        self.separator = ""

    def write(self, chunk: _Chunk) -> None:
        names = list(chunk.columns)
        rows = zip(*chunk.columns.values(), strict=True)
        features = [
            '{"type": "Feature", "properties": '
            f"{json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False)}, "
            f'"geometry": {geometry}}}'
            for row, geometry in zip(rows, chunk.geometry, strict=True)
        ]
        if features:
            self.file.write(self.separator + ",\n".join(features))
            self.separator = ",\n"

    def finish(self) -> None:
        self.file.write("\n]}\n")
        self.file.close()

    def abort(self) -> None:
        self.file.close()


class _OgrWriter:
    """GeoPackage or Shapefile through pyogrio, one append per chunk."""

    def __init__(self, path: Path, layer: str, names, geometry_type, encoding, fmt):
        self.path = path
        self.layer = layer
        self.names = names
        self.geometry_type = geometry_type
        self.shapefile = fmt == "shapefile"
        self.codec = encoding
        self.started = False

    def write(self, chunk: _Chunk) -> None:
        import geopandas as gpd
        import pyogrio
        import shapely

        if self.shapefile:
            self._check_dbf(chunk)
        data = {}
        for name, kind in self.names:
            column = SHAPEFILE_NAMES.get(name, name) if self.shapefile else name
            data[column] = _series(chunk.columns[name], kind)
        frame = gpd.GeoDataFrame(
            data,
            geometry=shapely.from_wkb(np.array(chunk.geometry, dtype=object)),
            crs="EPSG:4326",
        )
        pyogrio.write_dataframe(
            frame,
            self.path,
            layer=None if self.shapefile else self.layer,
            driver="ESRI Shapefile" if self.shapefile else "GPKG",
            encoding=self.codec.upper() if self.shapefile else None,
            geometry_type=self.geometry_type,
            append=self.started,
            # Text fields sized to the first chunk (GDAL widens them later when
            # needed) rather than 80 bytes each: a DBF is fixed-width.
            layer_options={"RESIZE": "YES"}
            if self.shapefile and not self.started
            else None,
        )
        self.started = True

    def _check_dbf(self, chunk: _Chunk) -> None:
        """Refuse what a DBF would truncate or garble, naming the row."""
        utf8 = self.codec == "utf-8"
        for name, kind in self.names:
            if kind in ("int", "float"):
                continue
            for i, value in enumerate(chunk.columns[name]):
                # A character is at most 4 bytes: short text cannot overflow,
                # and ASCII is in every encoding we write.
                if value is None or (len(value) * 4 <= DBF_TEXT_BYTES and (
                    utf8 or value.isascii()
                )):  # fmt: skip
                    continue
                try:
                    size = len(value.encode(self.codec))
                except UnicodeEncodeError:
                    raise _unencodable(
                        chunk, self.codec, "export as UTF-8 (leave out --encoding)"
                    ) from None
                if size > DBF_TEXT_BYTES:
                    raise InvalidInput(
                        f"{chunk.code(i)} 的 {name} 有 {size} 字节，超过 Shapefile 字段"
                        f"上限 {DBF_TEXT_BYTES} / {name} of {chunk.code(i)} is {size} "
                        f"bytes in {self.codec}, more than a Shapefile (DBF) field "
                        f"holds ({DBF_TEXT_BYTES}); export to .gpkg, .geojson or "
                        ".csv instead",
                        field="path",
                    )

    def finish(self) -> None:
        if not self.started:  # no rows: still a file with the layer's columns
            self.write(_Chunk({name: [] for name, _ in self.names}, []))

    def abort(self) -> None:
        pass


def _series(values: list, kind: str) -> pd.Series:
    if kind == "int":
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind == "float":
        return pd.Series(
            np.array([np.nan if v is None else v for v in values], dtype=float)
        )
    return pd.Series(values, dtype=object)  # keeps None as None (a null field)


class _ZipWriter(_OgrWriter):
    """A Shapefile written beside the zip, then packed into it."""

    def __init__(self, path: Path, names, geometry_type, encoding):
        self.zip_path = path
        self.folder = path.parent / "shapefile"
        self.folder.mkdir()
        super().__init__(
            self.folder / f"{path.stem}.shp", path.stem, names, geometry_type,
            encoding, "shapefile",
        )  # fmt: skip

    def finish(self) -> None:
        super().finish()
        with zipfile.ZipFile(self.zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(self.folder.iterdir()):
                archive.write(part, part.name)
