"""Import point layers: posts, cameras, sites and incidents (see :mod:`gis.ingest`)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

from gis import bulk
from gis.errors import InvalidInput
from gis.ingest import coords, fields
from gis.ingest.quarantine import write_quarantine
from gis.ingest.report import Report
from gis.ingest.sources import Chunk, Source, open_source

logger = logging.getLogger(__name__)

# Layer → (table, columns written, SQL type of each).  Codes are the match key.
POINT_LAYERS = {
    "posts": ("post", {"code": "text", "name": "text", "kind": "text",
                       "staff": "int", "address": "text", "phone": "text"}),
    "cameras": ("camera", {"code": "text", "name": "text", "kind": "text",
                           "azimuth": "float8", "fov": "float8",
                           "range_m": "float8", "status": "text",
                           "last_seen_at": "timestamptz", "owner": "text"}),
    "sites": ("site", {"code": "text", "name": "text", "kind": "text"}),
    "incidents": ("incident", {"code": "text", "category": "text",
                               "status": "text", "risk": "text",
                               "reported_at": "timestamptz",
                               "resolved_at": "timestamptz",
                               "resolved_level": "text", "source": "text",
                               "description": "text"}),
}  # fmt: skip
# What an absent column means, as the schema's defaults and rules have it.
_DEFAULTS = {
    "cameras": {"status": "online", "range_m": 100.0},
    "incidents": {"status": "received", "risk": "yellow"},
}


@dataclass
class Options:
    crs: str | None = None
    encoding: str | None = None
    layer_name: str | None = None  # GeoPackage layer
    mapping: dict[str, str] | None = None
    lenient: bool = False
    username: str | None = None
    progress: bool = False
    dry_run: bool = False  # check everything, write nothing (the web preview)


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
    opts = Options(**options)
    if layer not in POINT_LAYERS:
        fields.layer_fields(layer)  # an unknown name gets the usual message
        raise InvalidInput(
            f"暂不支持导入 {layer}（目前支持 {', '.join(POINT_LAYERS)}）/ importing "
            f"{layer} is not built yet; supported: {', '.join(POINT_LAYERS)}",
            field="layer",
        )
    path = Path(path)
    source = open_source(path, opts.encoding, opts.layer_name)
    report = Report(layer=layer, path=str(path), mode=_mode(opts))
    report.encoding = source.encoding
    matched = fields.match_columns(
        source.columns,
        layer,
        opts.mapping,
        has_geometry=source.geometry_type is not None,
    )
    digest = _sha256(path)
    with engine.connect() as conn:
        transaction = conn.begin()
        batch_id = _open_batch(conn, layer, path, digest, opts.username)
        loader = _Loader(conn, layer, matched)
        bad_rows = _read_all(source, layer, matched, opts, report, loader)
        report.rejected = len(report.rejected_rows())
        if report.errors and not opts.lenient:
            report.status = "rejected"
            transaction.rollback()  # strict: not one row of this file is written
        else:
            report.loaded, report.unchanged = loader.finish()
            report.status = "loaded"
            _close_batch(conn, batch_id, report)
            if opts.dry_run:
                report.status = "checked"
                transaction.rollback()
            else:
                transaction.commit()
    if report.status == "rejected" and not opts.dry_run:
        with engine.begin() as conn:  # the refused attempt is still recorded
            _close_batch(
                conn, _open_batch(conn, layer, path, digest, opts.username), report
            )
    if report_path is not None:
        report.outputs = report.write(report_path)
        if opts.lenient and bad_rows:
            report.outputs.append(write_quarantine(source, bad_rows, Path(report_path)))
    return report


def _mode(opts: Options) -> str:
    return "lenient" if opts.lenient else "strict"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_all(source, layer, matched, opts, report, loader) -> list:
    """Check every chunk; stage the good rows; return the bad rows' originals."""
    districts = loader.districts()
    seen: dict[str, int] = {}
    bad_rows, system = [], None
    progress = _progress(opts, source)
    for chunk in source.chunks():
        values, problems = fields.parse_chunk(chunk.columns, matched, layer)
        x, y = _coordinates(chunk, values, problems)
        if system is None:
            system, note = coords.choose_crs(source.crs, opts.crs, x, y)
            report.crs = system
            if note:
                report.notes.append(note)
        lon, lat = coords.to_wgs84(x, y, system)
        problems += coords.check_points(lon, lat, districts)
        problems += _duplicates(values["code"], chunk.numbers, seen)
        problems += _layer_rules(layer, values)
        # A row that could not be decoded is reported for that alone: its
        # garbled values would only add noise.
        problems = [p for p in problems if p[0] not in chunk.broken]
        problems += [(i, None, reason) for i, reason in chunk.broken.items()]
        rejected, said = set(), set()
        for i, field_name, reason in sorted(problems, key=lambda p: p[0]):
            if (i, field_name) not in said:  # an empty lon is not also "not a number"
                report.add(chunk.numbers[i], field_name, reason)
                said.add((i, field_name))
            rejected.add(i)
        report.read += len(chunk)
        keep = np.array([i not in rejected for i in range(len(chunk))], dtype=bool)
        bad_rows += [chunk.raw[i] for i in sorted(rejected)]
        if opts.lenient or not report.errors:
            loader.stage(values, lon, lat, keep)
        progress.update(len(chunk))
    progress.close()
    return bad_rows


def _progress(opts: Options, source: Source):
    from tqdm import tqdm

    return tqdm(
        total=source.count_hint(), unit=" rows", disable=not opts.progress,
        desc=source.path.name,
    )  # fmt: skip


def _coordinates(chunk: Chunk, values: dict, problems: list):
    """x and y of every row: from lon/lat columns, or from Point geometries."""
    if chunk.geometry is None:
        return values.pop("lon"), values.pop("lat")
    points = shapely.get_type_id(chunk.geometry) == shapely.GeometryType.POINT
    for i in np.flatnonzero(~points):
        problems.append((int(i), "geometry", "不是点 / the geometry is not a Point"))
    geometry = np.where(points, chunk.geometry, None)
    return shapely.get_x(geometry), shapely.get_y(geometry)


def _duplicates(codes, numbers, seen: dict[str, int]) -> list:
    problems = []
    for i, code in enumerate(codes):
        if code is None:
            continue
        if code in seen:
            problems.append((i, "code", (
                f"编码 {code} 重复（第一次在第 {seen[code]} 行） / duplicate code "
                f"{code} (first at row {seen[code]})"
            )))  # fmt: skip
        else:
            seen[code] = numbers[i]
    return problems


def _layer_rules(layer: str, values: dict) -> list:
    """Rules between fields, as the schema's CHECK constraints have them."""
    problems = []
    if layer == "cameras" and "kind" in values:
        azimuth = values.get("azimuth")
        for i, kind in enumerate(values["kind"]):
            if kind == "fixed" and (azimuth is None or not np.isfinite(azimuth[i])):
                problems.append((i, "azimuth", (
                    "固定枪机必须有方位角 / a fixed camera needs an azimuth"
                )))  # fmt: skip
    if layer == "incidents":
        absent = [None] * len(values["code"])
        resolved = values.get("resolved_at", absent)
        reported = values["reported_at"]
        for i, state in enumerate(values.get("status", absent)):
            done = state in ("resolved", "followed_up", "archived")
            resolved_at = resolved[i]
            if done and resolved_at is None:
                problems.append((i, "resolved_at", (
                    f"状态 {state} 需要化解时间 / status {state} needs resolved_at"
                )))  # fmt: skip
            elif not done and resolved_at is not None:
                problems.append((i, "resolved_at", (
                    "未化解的事件不应有化解时间 / an unresolved incident has no "
                    "resolved_at"
                )))  # fmt: skip
            elif done and reported[i] is not None and resolved_at < reported[i]:
                problems.append((i, "resolved_at", (
                    "化解时间早于上报时间 / resolved_at is before reported_at"
                )))  # fmt: skip
    return problems


class _Loader:
    """Stages good rows with COPY, then upserts them by code in one statement."""

    def __init__(self, conn: sa.Connection, layer: str, matched: dict):
        self.conn = conn
        self.layer = layer
        self.table, columns = POINT_LAYERS[layer]
        self.columns = {c: t for c, t in columns.items() if c in matched} | {
            c: columns[c] for c in _DEFAULTS.get(layer, {}) if c not in matched
        }
        self.cursor = conn.connection.cursor()
        bulk.create_temp(
            self.cursor,
            "stage",
            [*self.columns.items(), ("lon", "float8"), ("lat", "float8")],
        )
        self.staged = 0

    def districts(self):
        """The current districts, to catch points far outside (None if none)."""
        wkb = self.conn.execute(
            sa.text(
                "SELECT ST_AsBinary(ST_Union(geom)) FROM area "
                "WHERE kind = 'district' AND valid_to IS NULL"
            )
        ).scalar()
        if wkb is None:
            return None
        districts = shapely.from_wkb(bytes(wkb))
        shapely.prepare(districts)  # many points against one polygon
        return districts

    def stage(self, values: dict, lon, lat, keep) -> None:
        defaults = _DEFAULTS.get(self.layer, {})
        columns = [
            _integers(values[c]) if sqltype == "int" else values[c]
            if c in values else [defaults[c]] * len(lon)
            for c, sqltype in self.columns.items()
        ]  # fmt: skip
        rows = (
            [col[i] for col in columns] + [lon[i], lat[i]] for i in np.flatnonzero(keep)
        )
        self.staged += bulk.copy_rows(
            self.cursor, "stage", [*self.columns, "lon", "lat"], rows
        )

    def finish(self) -> tuple[int, int]:
        """Upsert the staged rows; return (rows accepted, of which unchanged)."""
        names = list(self.columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c != "code")
        changed = (
            " OR ".join(
                f"{self.table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in names
            )
            + f" OR NOT ST_Equals({self.table}.geom, EXCLUDED.geom)"
        )
        result = self.conn.execute(sa.text(f"""
            INSERT INTO {self.table} ({", ".join(names)}, geom)
            SELECT {", ".join(names)}, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
              FROM stage
            ON CONFLICT (code) DO UPDATE SET {updates}, geom = EXCLUDED.geom
             WHERE {changed}"""))  # fmt: skip
        return self.staged, self.staged - result.rowcount


def _integers(numbers: np.ndarray) -> list:
    return [int(n) if np.isfinite(n) else None for n in numbers]


def _open_batch(conn, layer, path: Path, digest: str, username) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO import_batch (layer, filename, sha256, username) "
            "VALUES (:l, :f, :h, :u) RETURNING id"
        ),
        {"l": layer, "f": path.name, "h": digest, "u": username},
    ).scalar()


def _close_batch(conn, batch_id: int, report: Report) -> None:
    conn.execute(
        sa.text(
            "UPDATE import_batch SET finished_at = now(), read_count = :r, "
            "loaded_count = :l, rejected_count = :j, status = :s, "
            "report = CAST(:rep AS jsonb) WHERE id = :id"
        ),
        {
            "r": report.read,
            "l": report.loaded,
            "j": report.rejected,
            "s": report.status,
            "rep": json.dumps(report.to_dict(), ensure_ascii=False, default=str),
            "id": batch_id,
        },
    )
