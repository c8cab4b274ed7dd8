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
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

from gis import catalog, vocab
from gis.errors import InvalidInput
from gis.incidents import DONE_STATUSES
from gis.ingest import coords, fields, sources, stable
from gis.ingest.loader import PointLoader
from gis.ingest.pipeline import Run, Steps
from gis.ingest.report import Report
from gis.ingest.sources import Chunk

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



def import_file(
    engine: sa.Engine,
    layer: str,
    path: str | Path,
    report_path: str | Path | None = None,
    **options,
) -> Report:
    """Import ``path`` into the point layer ``layer``: the contract of
    :func:`gis.ingest.import_file`."""
    if layer not in POINT_LAYERS:
        raise InvalidInput(
            f"{layer} 不是点图层 / {layer} is not a point layer; point layers: "
            f"{', '.join(POINT_LAYERS)}",
            field="layer",
        )
    return Run(engine, layer, path, report_path, **options).execute(PointSteps(layer))


class PointSteps(Steps):
    """A point layer's part of the import run: coordinates and their CRS, the
    rules between fields; staging and writing by :class:`PointLoader` (COPY on
    a worker thread, set-based assignment, upsert by code)."""

    raw_times = True

    def __init__(self, layer: str):
        self.layer = layer
        # A file without codes gets stable ones (gis.ingest.stable).
        self.optional = stable.optional(layer)
        self.table, self.columns = POINT_LAYERS[layer]
        self.system = None
        self.lonlat = None
        self.untimed: list[int] = []  # rows resolved at an unknown time

    def chunk_rows(self) -> int:
        return sources.CHUNK_ROWS  # read now: tests shrink it

    def begin(self, run) -> None:
        written = {
            c: t for c, t in self.columns.items() if c in run.matched or c == "code"
        }
        written |= {c: self.columns[c] for c in fields.defaults(self.layer)}
        self.loader = run.stack.enter_context(
            PointLoader(run.conn, self.table, written, run.opts.dry_run, run.clock)
        )
        self.districts = self.loader.districts()
        if self.districts is None:
            run.report.notes.append(
                "数据库中还没有区县或村社边界：点只检查是否在中国境内，也不会分到村社；请先"
                "导入村社（villages） / no boundaries are loaded yet: points are only "
                "checked to be in China and are assigned to no village; import the "
                "villages first"
            )
        self.made_codes = "code" not in run.matched
        if self.made_codes:
            run.report.notes.append(stable.note(self.layer))

    def check(self, run, chunk, values, problems) -> None:
        x, y = _coordinates(chunk, values, problems)
        if self.system is None:
            self.system, note = coords.choose_crs(run.source.crs, run.opts.crs, x, y)
            run.report.crs = self.system
            if note:
                run.report.notes.append(note)
        with run.clock("transform"):
            self.lonlat = coords.to_wgs84(x, y, self.system)
        if self.made_codes:
            values["code"] = stable.make_codes(self.layer, values, *self.lonlat)
        with run.clock("check"):
            problems += coords.check_points(*self.lonlat, self.districts)
            problems += _layer_rules(self.layer, values)
            if self.layer == "incidents":
                found, self.chunk_untimed = _resolution_rules(values)
                problems += found

    def stage(self, run, chunk, values, keep) -> None:
        if self.layer == "incidents":
            self.untimed += [chunk.numbers[i] for i in self.chunk_untimed if keep[i]]
        fields.fill_defaults(self.layer, values, len(chunk))
        self.loader.stage(values, *self.lonlat, keep)

    def write(self, run) -> tuple[int, int]:
        if self.untimed:
            run.report.add(None, *untimed_warning(self.untimed), "warning")
        return self.loader.finish()


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


def untimed_warning(rows: list[int]) -> tuple[str, str]:
    """The report's one warning about resolved incidents without a time."""
    shown = ", ".join(map(str, rows[:20])) + (", …" if len(rows) > 20 else "")
    return "resolved_at", (
        f"{len(rows)} 行状态为已化解但没有化解时间，按“化解时间未知”导入，不计入"
        f"化解用时统计（第 {shown} 行） / {len(rows)} rows are resolved without "
        f"resolved_at: loaded as resolved at an unknown time and left out of "
        f"time-to-resolve statistics (rows {shown})"
    )


def _resolution_rules(values: dict) -> tuple[list, np.ndarray]:
    """A resolution time is not before the report; an open incident has
    none.  A resolved one without a time is accepted (a historic ledger's
    已化解): its position is returned beside the problems, for the report's
    one warning (:func:`untimed_warning`)."""
    n = len(values["code"])
    status = values.get("status", np.full(n, None, dtype=object))
    resolved = values.get("resolved_at", np.full(n, np.datetime64("NaT", "ns")))
    reported = values["reported_at"]
    done = np.isin(status, DONE_STATUSES)
    has_time = ~np.isnat(resolved)
    problems = []
    for i in np.flatnonzero(~done & has_time):
        problems.append((int(i), "resolved_at", (
            "未化解的事件不应有化解时间 / an unresolved incident has no resolved_at"
        )))  # fmt: skip
    for i in np.flatnonzero(done & has_time & (resolved < reported)):
        problems.append((int(i), "resolved_at", (
            "化解时间早于上报时间 / resolved_at is before reported_at"
        )))  # fmt: skip
    return problems, np.flatnonzero(done & ~has_time)
