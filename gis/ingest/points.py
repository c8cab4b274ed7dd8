"""Import point layers: posts, cameras, sites and incidents (see :mod:`gis.ingest`).

A chunk at a time, every row is parsed and checked with whole-column
operations — Python steps only for the rows with a problem — while the
database writes the previous chunk (:class:`~gis.ingest.loader.PointLoader`:
COPY, set-based assignment to areas, upsert by code).  Memory stays bounded
by the chunk size: nothing of a good row is kept once it is staged, the
duplicate check keeps 20 bytes a row (:mod:`gis.ingest.codes`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

from gis import catalog, vocab
from gis.errors import InvalidInput
from gis.ingest import batch, coords, fields, sources
from gis.ingest.codes import SeenCodes
from gis.ingest.loader import PointLoader, Stopwatch
from gis.ingest.report import Report
from gis.ingest.sources import Chunk, Source, open_source

logger = logging.getLogger(__name__)

# SQL types of what the loader COPYs, by catalog property type.
_SQL_TYPES = {
    "text": "text", "choice": "text", "int": "int", "float": "float8",
    "time": "timestamptz",
}  # fmt: skip


class _PointLayers(Mapping):
    """Point layer → (table, columns written with the SQL type of each), from
    the stored, imported properties of :mod:`gis.catalog`, read on every
    access.  Codes are the match key."""

    def __getitem__(self, layer: str) -> tuple[str, dict[str, str]]:
        entry = catalog.LAYERS.get(layer)
        if entry is None or entry.geometry != "Point":
            raise KeyError(layer)
        stored = [p for p in entry.imported if p.stored]
        return entry.table, {p.name: _SQL_TYPES[p.kind] for p in stored}

    def __iter__(self):
        return (n for n, e in catalog.LAYERS.items() if e.geometry == "Point")

    def __len__(self) -> int:
        return sum(1 for _ in self)


POINT_LAYERS: Mapping[str, tuple[str, dict[str, str]]] = _PointLayers()


def _defaults(layer: str) -> dict:
    """What an absent column means, as the schema's defaults and rules have it."""
    entry = catalog.get(layer)
    return {p.name: p.default for p in entry.imported if p.default is not None}


_DONE = ("resolved", "followed_up", "archived")


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

    Raises :class:`InvalidInput` only for problems with the whole file (unknown
    layer, unreadable file, missing column, unknown CRS); row problems are in the
    report, whose ``status`` is ``loaded`` or ``rejected``.
    """
    opts = batch.Options(**options)
    if layer not in POINT_LAYERS:
        raise InvalidInput(
            f"{layer} 不是点图层 / {layer} is not a point layer; point layers: "
            f"{', '.join(POINT_LAYERS)}",
            field="layer",
        )
    path = Path(path)
    source = open_source(path, opts.encoding, opts.layer_name)
    report = Report.of(layer, path, opts.mode, source)
    matched = fields.match_columns(
        source.columns,
        layer,
        opts.mapping,
        has_geometry=source.geometry_type is not None,
    )
    digest = batch.sha256(path)
    bad_rows = _load(engine, source, layer, matched, opts, report, digest)
    return batch.finish(
        engine, layer, path, digest, opts, report, source, bad_rows, report_path
    )


def _load(engine, source, layer, matched, opts, report, digest) -> list:
    """Read, check and write in one transaction, committed unless strict and
    something was wrong, or a dry run.  Returns the bad rows' originals."""
    clock = Stopwatch(opts.timings)
    table, columns = POINT_LAYERS[layer]
    written = {c: t for c, t in columns.items() if c in matched}
    written |= {c: columns[c] for c in _defaults(layer)}
    with engine.connect() as conn:
        transaction = conn.begin()
        batch_id = batch.open_batch(conn, layer, source.path, digest, opts.username)
        with PointLoader(conn, table, written, opts.dry_run, clock) as loader:
            bad_rows = _read_all(source, layer, matched, opts, report, loader, clock)
            report.rejected = len(report.rejected_rows())
            if report.errors and not opts.lenient:
                report.status = "rejected"
            else:
                report.loaded, report.unchanged = loader.finish()
                report.status = "loaded"
        if report.status == "rejected":
            transaction.rollback()  # strict: not one row of this file is written
            return bad_rows
        batch.close_batch(conn, batch_id, report)
        if opts.dry_run:
            report.status = "checked"
            transaction.rollback()
        else:
            transaction.commit()
    return bad_rows


def _read_all(source, layer, matched, opts, report, loader, clock) -> list:
    """Check every chunk; stage the good rows; return the bad rows' originals."""
    districts = loader.districts()
    codes = SeenCodes()
    bad_rows, system = [], None
    progress = _Progress(opts, source)
    chunks = iter(source.chunks(sources.CHUNK_ROWS))  # read now: tests shrink it
    while True:
        with clock("read"):
            chunk = next(chunks, None)
        if chunk is None:
            break
        with clock("parse"):
            values, problems = fields.parse_chunk(
                chunk.columns, matched, layer, raw_times=True
            )
            x, y = _coordinates(chunk, values, problems)
        if system is None:
            system, note = coords.choose_crs(source.crs, opts.crs, x, y)
            report.crs = system
            if note:
                report.notes.append(note)
        with clock("transform"):
            lon, lat = coords.to_wgs84(x, y, system)
        with clock("check"):
            problems += coords.check_points(lon, lat, districts)
            problems += codes.duplicates(values["code"], chunk.numbers)
            problems += _layer_rules(layer, values)
            keep = batch.settle(chunk, problems, report)
            bad_rows += [chunk.raw[i] for i in np.flatnonzero(~keep)]
        if opts.lenient or not report.errors:
            _fill_defaults(layer, values, len(chunk))
            loader.stage(values, lon, lat, keep)
        progress.update(chunk)
    progress.close()
    return bad_rows


def _fill_defaults(layer: str, values: dict, n: int) -> None:
    for column, default in _defaults(layer).items():
        if column not in values:
            values[column] = np.full(n, default, dtype=object)


class _Progress:
    """A bar on stderr: by bytes for CSV files, else by rows (of a known
    total when the format says it).  Shown only when asked, and by default
    (``progress=None``) only when stderr is a terminal."""

    def __init__(self, opts: batch.Options, source: Source):
        from tqdm import tqdm

        show = sys.stderr.isatty() if opts.progress is None else opts.progress
        self.bytes = source.format == "csv"
        total = source.path.stat().st_size if self.bytes else source.count_hint()
        self.bar = tqdm(
            total=total, disable=not show, desc=source.path.name, leave=False,
            unit="B" if self.bytes else " rows", unit_scale=self.bytes,
            unit_divisor=1024 if self.bytes else 1000,
        )  # fmt: skip
        self.rows = 0

    def update(self, chunk: Chunk) -> None:
        self.rows += len(chunk)
        if self.bytes:
            if chunk.offset is not None:
                self.bar.update(chunk.offset - self.bar.n)
            self.bar.set_postfix_str(f"{self.rows:,} rows", refresh=False)
        else:
            self.bar.update(len(chunk))

    def close(self) -> None:
        self.bar.close()


def _coordinates(chunk: Chunk, values: dict, problems: list):
    """x and y of every row: from lon/lat columns, or from Point geometries."""
    if chunk.geometry is None:
        return values.pop("lon"), values.pop("lat")
    points = shapely.get_type_id(chunk.geometry) == shapely.GeometryType.POINT
    for i in np.flatnonzero(~points):
        problems.append((int(i), "geometry", "不是点 / the geometry is not a Point"))
    geometry = np.where(points, chunk.geometry, None)
    return shapely.get_x(geometry), shapely.get_y(geometry)


def _layer_rules(layer: str, values: dict) -> list:
    """Rules between fields, as the schema's CHECK constraints have them."""
    problems = []
    if layer == "cameras" and "kind" in values:
        azimuth = values.get("azimuth")
        fixed = np.equal(values["kind"], "fixed")
        if azimuth is not None:
            fixed &= ~np.isfinite(azimuth)
        for i in np.flatnonzero(fixed):
            problems.append((int(i), "azimuth", (
                "固定枪机必须有方位角 / a fixed camera needs an azimuth"
            )))  # fmt: skip
        problems += _field_of_view_rules(values)
    if layer == "incidents":
        problems += _resolution_rules(values)
    return problems


def _field_of_view_rules(values: dict) -> list:
    """The schema's ``fov NOT NULL`` and ``camera_direction``: every camera has
    a field of view, and a PTZ or dome camera's is 360 (it sees all round)."""
    kind = values["kind"]
    fov = values.get("fov")
    if fov is None:
        fov = np.full(len(kind), np.nan)
    fov = np.asarray(fov, dtype=float)
    known = np.not_equal(kind, None)
    problems = []
    for i in np.flatnonzero(known & np.isnan(fov)):
        problems.append((int(i), "fov", (
            "视场角必填（球机、云台为 360） / fov is required (360 for a dome "
            "or PTZ camera)"
        )))  # fmt: skip
    round_ = known & np.not_equal(kind, "fixed") & ~np.isnan(fov) & (fov != 360)
    for i in np.flatnonzero(round_):
        problems.append((int(i), "fov", (
            f"{vocab.CAMERA_KINDS.get(kind[i], kind[i])}的视场角应为 360，而不是 "
            f"{fov[i]:g} / a {kind[i]} "
            f"camera sees all round: fov must be 360, not {fov[i]:g}"
        )))  # fmt: skip
    return problems


def _resolution_rules(values: dict) -> list:
    """A resolved incident has a resolution time, not before its report; an
    open one has none."""
    n = len(values["code"])
    status = values.get("status", np.full(n, None, dtype=object))
    resolved = values.get("resolved_at", np.full(n, np.datetime64("NaT", "ns")))
    reported = values["reported_at"]
    done = np.isin(status, _DONE)
    has_time = ~np.isnat(resolved)
    problems = []
    for i in np.flatnonzero(done & ~has_time):
        problems.append((int(i), "resolved_at", (
            f"状态 {status[i]} 需要化解时间 / status {status[i]} needs resolved_at"
        )))  # fmt: skip
    for i in np.flatnonzero(~done & has_time):
        problems.append((int(i), "resolved_at", (
            "未化解的事件不应有化解时间 / an unresolved incident has no resolved_at"
        )))  # fmt: skip
    for i in np.flatnonzero(done & has_time & (resolved < reported)):
        problems.append((int(i), "resolved_at", (
            "化解时间早于上报时间 / resolved_at is before reported_at"
        )))  # fmt: skip
    return problems
