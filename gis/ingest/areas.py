"""Import boundary layers: districts, townships, villages, grids, stations.

Each feature is checked (code format, names, numbers, geometry), converted to
WGS84, repaired with ``make_valid`` when that keeps its area (reported as
*repaired*) and refused otherwise, then staged and written by code:

- a code not in the database is inserted (in force since ``--valid-from``,
  else the row's ``valid_from`` column, else since ever: a date given for the
  import wins, so an edited export becomes a new generation);
- the same boundary with other attributes (name, parent, population) is updated
  in place;
- a changed boundary is a new **generation** (MapIt): the current row is closed
  with ``valid_to`` and a new one opened (from ``--valid-from``, else the
  row's ``valid_from``, else today in Beijing).  Incidents keep the village they were
  filed under; new ones use the new boundary.  The officers, other people
  (advisers, mediators...), grid members, station users and child areas of
  the old generation move to the new one.
- an identical feature is left alone, so re-importing a file changes nothing.

Areas in the database but not in the file are left alone: a file may update
part of a county.

After writing, points are re-assigned set-based (:func:`gis.assign.assign_in`)
in the same transaction, and topology is checked where the import touched it
(:func:`topology`): overlaps and gaps between the villages of one township, grids
not inside their village, police stations overlapping.  Those are *warnings*
with a location and an area in m²: real survey data has slivers, and refusing a
county's file for them would leave planners with nothing.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyproj
import shapely
import sqlalchemy as sa

from gis import bulk, catalog
from gis.clock import BEIJING
from gis.errors import InvalidInput
from gis.ingest import batch, coords, hierarchy
from gis.ingest.pipeline import Run, Steps
from gis.ingest.report import Finding, Report
from gis.ingest.sources import Chunk
from gis.subdivide import subdivide

logger = logging.getLogger(__name__)

AREA_LAYERS = catalog.boundary_kinds()
"""Import layer → ``area.kind`` (:mod:`gis.catalog`)."""

PARENT_KIND = {
    "township": "district",
    "village": "township",
    "grid": "village",
    "police_station": "district",
}
# The schema's area_code_format, as a message a clerk can act on.
CODE_FORMAT = {
    "grid": (re.compile(r"^[0-9]{13,18}$"), "13–18 位数字 / 13-18 digits"),
    "police_station": (
        re.compile(r"^[0-9A-Za-z]{6,20}$"),
        "6–20 位字母或数字 / 6-20 letters or digits",
    ),
}
ADMIN_CODE = (re.compile(r"^[0-9]{12}$"), "12 位统计用区划代码 / 12 digits")
REPAIR_TOLERANCE = 1e-6
"""A repair may change a polygon's area by this share (plus 1 m²) at most."""
TOPOLOGY_MIN_M2 = 1.0
"""Gaps and overlaps smaller than this are survey noise, not findings."""
SINCE_EVER = date(1949, 10, 1)  # the schema's default valid_from


def import_areas(
    engine: sa.Engine, layer: str, path: Path, report_path=None, **options
) -> Report:
    """Import the boundary file ``path`` into ``layer`` (see the module doc).

    Same contract as :func:`gis.ingest.import_file`.
    """
    steps = AreaSteps(AREA_LAYERS[layer])
    return Run(engine, layer, path, report_path, **options).execute(steps)


class AreaSteps(Steps):
    """A boundary layer's part of the import run: polygons, their CRS, code
    format, repairs and place; parents and generations in the database."""

    unit = " features"
    keep_raw = True
    # Staged even after an error in strict mode: parents and generations are
    # checked in the database, and the report should list every row.
    stage_after_error = True

    def __init__(self, kind: str):
        self.kind = kind
        self.system = None
        self.repairs = []
        self.normalised = []  # (code as given, as stored)

    def chunk_rows(self) -> int:
        return 5_000

    def begin(self, run) -> None:
        self.loader = _Loader(run.conn, self.kind, run.opts)
        if run.opts.valid_from is not None and "valid_from" in run.matched:
            column = run.matched["valid_from"]
            run.report.notes.append(
                f"按所填生效日期 {run.opts.valid_from} 导入，忽略文件的“{column}”列 / "
                f"valid_from {run.opts.valid_from} as given; the file's column "
                f"{column!r} is ignored"
            )

    def check(self, run, chunk, values, problems) -> None:
        geoms = _geometries(chunk, values, problems)
        if self.system is None:
            sample = shapely.get_coordinates(geoms[: min(len(geoms), 200)])
            self.system, note = coords.choose_crs(
                run.source.crs, run.opts.crs, sample[:, 0], sample[:, 1]
            )
            run.report.crs = self.system
            if note:
                run.report.notes.append(note)
        geoms = _to_wgs84(geoms, self.system)
        self.normalised += hierarchy.normalise_codes(
            self.kind, PARENT_KIND.get(self.kind), values
        )
        problems += _check_codes(self.kind, values["code"])
        self.geoms, self.repairs = _repair(geoms, problems)
        problems += _check_place(self.kind, self.geoms, self.loader.districts)

    def stage(self, run, chunk, values, keep) -> None:
        if run.opts.valid_from is not None and "valid_from" in values:
            values.pop("valid_from")  # --valid-from wins over the column
        for i, reason, change in self.repairs:
            if keep[i]:
                run.report.add(chunk.numbers[i], "geometry", reason, "repaired",
                               area_m2=change)  # fmt: skip
        self.loader.stage(chunk, values, self.geoms, keep)

    def resolve(self, run) -> list:
        if self.normalised:
            run.report.notes.append(hierarchy.normalised_note(self.normalised))
        problems = self.loader.resolve(run.report)
        for row, field_name, reason in hierarchy.structure_warnings(
            run.conn, self.kind
        ):
            run.report.add(row, field_name, reason, "warning")
        return problems

    def write(self, run) -> tuple[int, int]:
        return self.loader.write(run.report)


def _geometries(chunk: Chunk, values: dict, problems: list) -> np.ndarray:
    """The chunk's polygons: from the file's geometry or its ``wkt`` column."""
    if chunk.geometry is not None:
        geoms = np.asarray(chunk.geometry, dtype=object)
    else:
        text = values.pop("wkt")
        geoms = np.empty(len(text), dtype=object)
        for i, wkt in enumerate(text):
            if wkt is None:
                continue  # parse_chunk already said it is empty
            try:
                geoms[i] = shapely.from_wkt(wkt)
            except shapely.errors.GEOSException as exc:
                problems.append((i, "wkt", (
                    f"WKT 无法解析 / the WKT does not parse: {str(exc)[:120]}"
                )))  # fmt: skip
    values.pop("wkt", None)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(
        types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
    )
    for i in np.flatnonzero(~polygonal | shapely.is_empty(geoms)):
        if geoms[i] is None and chunk.geometry is None:
            continue
        what = "为空 / is empty" if geoms[i] is None or geoms[i].is_empty else (
            f"不是面 / is a {geoms[i].geom_type}, not a polygon"
        )  # fmt: skip
        problems.append((int(i), "geometry", f"几何{what}"))
    return np.where(polygonal & ~shapely.is_empty(geoms), geoms, None)


def _to_wgs84(geoms: np.ndarray, system: str) -> np.ndarray:
    if system in ("wgs84", "EPSG:4326", "EPSG:4490"):
        return geoms

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = coords.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


def _check_codes(kind: str, codes) -> list:
    pattern, words = CODE_FORMAT.get(kind, ADMIN_CODE)
    return [
        (i, "code", f"编码 {code} 格式不对，应为{words}")
        for i, code in enumerate(codes)
        if code is not None and not pattern.match(code)
    ]


def _repair(geoms: np.ndarray, problems: list):
    """Make every polygon valid: ``make_valid`` when that keeps its area.

    Returns the geometries (MultiPolygons; None where refused) and the repairs
    made, ``(position, reason, area change in m²)``.
    """
    repairs = []
    out = np.empty(len(geoms), dtype=object)
    present = np.array([g is not None for g in geoms], dtype=bool)
    valid = np.zeros(len(geoms), dtype=bool)
    valid[present] = shapely.is_valid(geoms[present])
    for i in np.flatnonzero(present):
        geom = geoms[i]
        if not valid[i]:
            why = shapely.is_valid_reason(geom)
            fixed = _polygonal(shapely.make_valid(geom))
            before, after = _area_m2(geom), _area_m2(fixed) if fixed else 0.0
            change = after - before
            if fixed is None or abs(change) > REPAIR_TOLERANCE * before + 1.0:
                problems.append((int(i), "geometry", (
                    f"无效多边形（{why}），修复会使面积从 {before:,.0f} m² 变为 "
                    f"{after:,.0f} m²，请在 GIS 软件中修正 / invalid polygon ({why}); "
                    "repairing it would change its area, fix it in a GIS"
                )))  # fmt: skip
                continue
            repairs.append((int(i), (
                f"无效多边形已自动修复（{why}），面积不变 / invalid polygon repaired "
                f"({why}); area kept"
            ), round(change, 3)))  # fmt: skip
            geom = fixed
        out[i] = shapely.MultiPolygon(
            [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
        )
    return out, repairs


def _polygonal(geom) -> shapely.Geometry | None:
    """The polygonal parts of ``make_valid``'s answer (it may add lines)."""
    parts = [
        p for p in shapely.get_parts(geom)
        if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty
    ]  # fmt: skip
    return shapely.union_all(parts) if parts else None


# Areas in m² on an equal-area cylindrical projection of the WGS84 ellipsoid
# (EASE-Grid 2.0).  Parallels stay straight there, as they are in the stored
# lon/lat polygons, so a sliver along a parallel measures what it is; geodesic
# areas would count the bulge of each long east-west edge (hectares over 10 km).
_EQUAL_AREA = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)


def _area_m2(geom) -> float:
    """Area of a WGS84 polygon in m²; an invalid one is measured as its rings
    say (a bow-tie's lobes cancel)."""
    projected = shapely.transform(
        geom, lambda xy: np.column_stack(_EQUAL_AREA.transform(xy[:, 0], xy[:, 1]))
    )
    return float(shapely.area(projected))


def _check_place(kind: str, geoms: np.ndarray, districts) -> list:
    """Boundaries far from the loaded districts: a wrong CRS, swapped axes."""
    problems = []
    present = np.flatnonzero([g is not None for g in geoms])
    if not len(present):
        return problems
    points = shapely.point_on_surface(geoms[present])
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    in_china = coords.in_china(lon, lat)
    if kind != "district" and districts is not None:
        inside = shapely.intersects(districts, geoms[present].astype(object))
    else:
        inside = in_china
    for n in np.flatnonzero(~inside):
        i = int(present[n])
        swapped = not in_china[n] and coords.in_china(lat[n], lon[n])
        problems.append((i, "geometry", (
            "经纬度似乎填反了 / longitude and latitude look swapped" if swapped
            else f"边界不在已导入的区县内（{lon[n]:.5f}, {lat[n]:.5f}），请检查坐标系"
            " / the boundary is outside the loaded district(s): check the "
            "coordinate system (坐标系, --crs)"
            if districts is not None
            else f"边界不在中国境内（{lon[n]:.5f}, {lat[n]:.5f}），请检查坐标系 / "
            "the boundary is outside China: check the coordinate system (坐标系, --crs)"
        )))  # fmt: skip
    return problems


class _Loader:
    """Stages checked features, resolves parents, writes generations."""

    def __init__(self, conn: sa.Connection, kind: str, opts: batch.Options):
        self.conn = conn
        self.kind = kind
        self.opts = opts
        self.cursor = conn.connection.cursor()
        self.attributes = _attributes()
        # Attributes and geometries apart: the many UPDATEs on stage_area then
        # rewrite narrow rows, not kilobytes of geometry each.
        bulk.create_temp(self.cursor, "stage_area", _stage(self.attributes))
        bulk.create_temp(self.cursor, "stage_geom", _GEOMS)
        self.geoms: dict[int, shapely.Geometry] = {}  # row number → polygon
        self.districts = self._districts()

    def _districts(self):
        if self.kind == "district":
            return None
        wkb, surveyed = self.conn.execute(sa.text(
            "SELECT ST_AsBinary(ST_Union(geom)), bool_or(NOT derived) FROM area "
            "WHERE kind = 'district' AND valid_to IS NULL"
        )).one()  # fmt: skip
        if not surveyed and self.kind in hierarchy.PREFIX:
            # None loaded, or only dissolved from earlier files: the district
            # is (re)built from these areas too (hierarchy.refresh_derived).
            return None
        if wkb is None:
            raise InvalidInput(
                "数据库中还没有任何区县或村社边界：请先导入村社（villages；乡镇街道与区县"
                "可由村社边界合成）或区县（districts） / nothing is loaded yet: import "
                f"the villages first (their townships and district are built from "
                f"them) or the districts, then these {self.kind} areas",
                field="layer",
            )
        districts = shapely.from_wkb(bytes(wkb))
        shapely.prepare(districts)
        return districts

    def stage(self, chunk: Chunk, values: dict, geoms, keep) -> None:
        """COPY the kept rows (binary: a detailed village is kilobytes of WKB).

        The polygons are also kept in memory (a county's 10,000 villages are
        some 60 MB) to cut the lookup pieces of those that get written."""
        positions = np.flatnonzero(keep)
        absent = [None] * len(chunk)
        since = values.get("valid_from", absent)
        attrs = self.attributes
        kept = shapely.set_srid(geoms[positions].astype(object), 4326)
        numbers = [chunk.numbers[i] for i in positions]
        rows = []
        for n, i in zip(numbers, positions, strict=True):
            rows.append((
                n, values["code"][i], values["name"][i],
                values.get("parent", absent)[i], values["code_given"][i],
                *(_value_at(values.get(p.name), p.kind, i) for p in attrs),
                _day(since[i]),
            ))  # fmt: skip
        self.geoms.update(zip(numbers, kept, strict=True))
        bulk.copy_binary(self.cursor, "stage_area", _stage(attrs), rows)
        ewkb = shapely.to_wkb(kept, include_srid=True)
        geometries = zip(numbers, ewkb, strict=True)
        bulk.copy_binary(self.cursor, "stage_geom", _GEOMS, geometries)

    def resolve(self, report: Report) -> list:
        """Find each staged area's parent and current generation (building
        missing parents by dissolving, :mod:`gis.ingest.hierarchy`); drop the
        rows that cannot be placed and return ``(row, field, reason)`` for
        each."""
        conn, kind = self.conn, self.kind
        conn.execute(
            sa.text("""
            ALTER TABLE stage_area ADD COLUMN parent_id bigint,
                                   ADD COLUMN current_id bigint;
            CREATE INDEX ON stage_geom (row_no);
            ANALYZE stage_area;
            ANALYZE stage_geom""")
        )
        conn.execute(sa.text("""
            UPDATE stage_area s SET current_id = a.id FROM area a
             WHERE a.kind = :k AND a.code = s.code AND a.valid_to IS NULL"""),
            {"k": kind})  # fmt: skip
        problems = []
        parent_kind = PARENT_KIND.get(kind)
        if parent_kind is not None:
            problems += self._parents(parent_kind, report)
        problems += self._generations()
        if problems:
            conn.execute(
                sa.text("DELETE FROM stage_area WHERE row_no = ANY(:rows)"),
                {"rows": [p[0] for p in problems]},
            )
        return problems

    def _parents(self, parent_kind: str, report: Report) -> list:
        """Parent by the ``parent`` column (a code, or a name), else by the code
        (statistical codes nest: township = first 9 digits + 000, village = 12,
        grid extends its village), else the parent area holding most of the
        polygon, else — townships of villages, a district of townships — one
        dissolved from the rows (:func:`hierarchy.derive_parents`)."""
        conn, kind = self.conn, self.kind
        conn.execute(sa.text("""
            UPDATE stage_area s SET parent_id = p.id FROM area p
             WHERE p.kind = :pk AND p.valid_to IS NULL AND p.code = s.parent_code"""),
            {"pk": parent_kind})  # fmt: skip
        hierarchy.place_by_name(conn, parent_kind)
        derive = {
            "township": "rpad(left(s.code, 6), 12, '0')",
            "village": "rpad(left(s.code, 9), 12, '0')",
            "grid": "left(s.code, 12)",
        }.get(kind)
        if derive:
            conn.execute(sa.text(f"""
                UPDATE stage_area s SET parent_id = p.id FROM area p
                 WHERE (s.parent_code IS NULL OR s.parent_code !~ '^[0-9]+$')
                   AND s.parent_id IS NULL
                   AND p.kind = :pk AND p.valid_to IS NULL AND p.code = {derive}"""),
                {"pk": parent_kind})  # fmt: skip
        conn.execute(sa.text("""
            UPDATE stage_area s SET parent_id = (
                SELECT p.id FROM stage_geom g, area p
                 WHERE g.row_no = s.row_no
                   AND p.kind = :pk AND p.valid_to IS NULL AND p.geom && g.geom
                   AND ST_Intersects(p.geom, ST_PointOnSurface(g.geom))
                 ORDER BY p.code LIMIT 1)
             WHERE s.parent_code IS NULL AND s.parent_id IS NULL"""),
            {"pk": parent_kind})  # fmt: skip
        built, districts = hierarchy.derive_parents(
            conn, kind, parent_kind, f"derived:{Path(report.path).name}"
        )
        if built:
            report.notes.append(hierarchy.derived_note(kind, built, districts))
        problems = []
        for row, parent_code in conn.execute(sa.text(
            "SELECT row_no, parent_code FROM stage_area WHERE parent_id IS NULL"
        )):  # fmt: skip
            if parent_code:
                reason = (
                    f"上级 {parent_code} 不存在（应为现行的{_LABEL[parent_kind]}） / "
                    f"no current {parent_kind} with code {parent_code}"
                )
            else:
                reason = (
                    f"找不到所属{_LABEL[parent_kind]}：请填写上级编码列，或先导入"
                    f"{_LABEL[parent_kind]} / no {parent_kind} found for this area: "
                    "give a parent column or import that layer first"
                )
            problems.append((row, "parent", reason))
        if kind == "grid":
            for row, code, village in conn.execute(sa.text("""
                SELECT s.row_no, s.code, p.code FROM stage_area s
                  JOIN area p ON p.id = s.parent_id
                 WHERE left(s.code, length(p.code)) <> p.code""")):  # fmt: skip
                problems.append((row, "code", (
                    f"网格编码 {code} 应以所属村社编码 {village} 开头 / grid code "
                    f"{code} must extend its village code {village}"
                )))  # fmt: skip
        return problems

    def _generations(self) -> list:
        """Rows whose new boundary would start before the current one did."""
        start = _sql_date(self.opts.valid_from or _today())
        return [
            (row, "valid_from", (
                f"新边界的生效日期 {begins} 必须晚于现行版本的 {current}（用 "
                f"--valid-from 或生效日期列指定） / the new boundary's valid_from "
                f"{begins} must be after the current generation's {current}"
            ))
            for row, begins, current in self.conn.execute(sa.text(f"""
                SELECT s.row_no, coalesce(s.valid_from, {start}), a.valid_from
                  FROM stage_area s JOIN area a ON a.id = s.current_id
                  JOIN stage_geom g USING (row_no)
                 WHERE NOT ST_Equals(a.geom, g.geom)
                   AND coalesce(s.valid_from, {start}) <= a.valid_from"""))
        ]  # fmt: skip

    def write(self, report: Report) -> tuple[int, int]:
        """Insert new areas, update attributes in place, open new generations;
        then re-assign points and check topology.  Returns (rows accepted, of
        which unchanged)."""
        conn, kind = self.conn, self.kind
        staged = conn.execute(sa.text("SELECT count(*) FROM stage_area")).scalar()
        attrs = [p.name for p in self.attributes] + ["code_given"]
        same_attrs = " AND ".join([
            "a.name = s.name", "a.parent_id IS NOT DISTINCT FROM s.parent_id",
            *(f"a.{c} IS NOT DISTINCT FROM s.{c}" for c in attrs),
        ])  # fmt: skip
        # Parents and current generations are known now: without fresh
        # statistics the planner takes every current_id for NULL, as it was
        # when analysed, and may join 10,000 villages to their staged
        # polygons by a nested loop (minutes instead of seconds).
        conn.execute(sa.text(
            "ALTER TABLE stage_area ADD COLUMN action text; ANALYZE stage_area"
        ))  # fmt: skip
        conn.execute(
            sa.text(f"""
            UPDATE stage_area s SET action = 'insert' WHERE current_id IS NULL;
            UPDATE stage_area s SET action = CASE
                WHEN NOT ST_Equals(a.geom, g.geom) THEN 'generation'
                WHEN {same_attrs} THEN 'unchanged' ELSE 'update' END
              FROM area a, stage_geom g
             WHERE a.id = s.current_id AND g.row_no = s.row_no""")
        )
        counts = dict(conn.execute(sa.text(
            "SELECT action, count(*) FROM stage_area GROUP BY action"
        )).all())  # fmt: skip
        source = f"import:{Path(report.path).name}"
        since_new = _sql_date(self.opts.valid_from or SINCE_EVER)
        since_changed = _sql_date(self.opts.valid_from or _today())
        conn.execute(sa.text(f"""
            UPDATE area a SET name = s.name, parent_id = s.parent_id,
                   {"".join(f"{c} = s.{c}, " for c in attrs)}source = :src
              FROM stage_area s WHERE s.action = 'update' AND a.id = s.current_id"""),
            {"src": source})  # fmt: skip
        conn.execute(sa.text(f"""
            UPDATE area a SET valid_to = coalesce(s.valid_from, {since_changed})
              FROM stage_area s
             WHERE s.action = 'generation' AND a.id = s.current_id"""))  # fmt: skip
        # The lookup pieces of the new rows are cut in Python (gis.subdivide)
        # on the other core while the database inserts the areas.
        new_rows = conn.execute(sa.text(
            "SELECT row_no FROM stage_area WHERE action IN ('insert', 'generation')"
        )).scalars().all()  # fmt: skip
        inputs = self._village_inputs() if kind == "village" else None
        with ThreadPoolExecutor(max_workers=1) as pool:
            cutting = pool.submit(self._pieces, new_rows)
            # A village import's overlaps and gaps depend only on the boundaries
            # as they will be: worked out meanwhile, from memory.
            checking = pool.submit(_township_findings, *inputs) if inputs else None
            conn.execute(sa.text("SET LOCAL pingan.bulk_subdivide = 'on'"))
            # Ids drawn first, so the insert is a plain INSERT ... SELECT.
            conn.execute(sa.text("""
                ALTER TABLE stage_area ADD COLUMN new_id bigint;
                UPDATE stage_area SET new_id = nextval(
                       pg_get_serial_sequence('area', 'id'))
                 WHERE action IN ('insert', 'generation')"""))
            conn.execute(sa.text(f"""
                INSERT INTO area (id, kind, code, name, parent_id,
                                  {"".join(f"{c}, " for c in attrs)}valid_from,
                                  source, geom)
                SELECT s.new_id, :k, s.code, s.name, s.parent_id,
                       {"".join(f"s.{c}, " for c in attrs)}
                       coalesce(s.valid_from, CASE s.action WHEN 'insert'
                                THEN {since_new} ELSE {since_changed} END),
                       :src, g.geom
                  FROM stage_area s JOIN stage_geom g USING (row_no)
                 WHERE s.new_id IS NOT NULL"""),
                {"k": kind, "src": source})  # fmt: skip
            new_ids = dict(conn.execute(sa.text(
                "SELECT row_no, new_id FROM stage_area WHERE new_id IS NOT NULL"
            )).all())  # fmt: skip
            rows, pieces = cutting.result()
            early = checking.result() if checking else []
        bulk.copy_binary(
            self.cursor, "area_part", [("area_id", "bigint"), ("kind", "text"),
                                       ("geom", "geometry")],
            ((new_ids[r], kind, piece) for r, piece in zip(rows, pieces, strict=True)),
        )  # fmt: skip
        conn.execute(sa.text("SET LOCAL pingan.bulk_subdivide = 'off'"))
        if counts.get("generation"):
            self._move_dependants()
        grown = hierarchy.refresh_derived(conn)
        if grown:
            report.notes.append(hierarchy.grown_note(grown))
        report.notes.append(
            f"新增 {counts.get('insert', 0)}，新版本 {counts.get('generation', 0)}，"
            f"属性更新 {counts.get('update', 0)}，未变 {counts.get('unchanged', 0)} / "
            f"new {counts.get('insert', 0)}, new generation "
            f"{counts.get('generation', 0)}, attributes updated "
            f"{counts.get('update', 0)}, unchanged {counts.get('unchanged', 0)}"
        )
        if counts.get("insert") or counts.get("generation") or grown:
            from gis import assign

            # Never the bulk path's table locks: points' readers (the maps,
            # the incident list) keep answering while boundaries change.
            changed = assign.assign_in(conn, set_aside=False)
            report.notes.append(
                "重新分配 / re-assigned: "
                + ", ".join(f"{t} {n}" for t, n in changed.items())
            )
        report.findings += topology(conn, kind, early)
        return staged, counts.get("unchanged", 0)

    def _village_inputs(self) -> tuple[dict, dict] | None:
        """The townships a village import touches, and their villages as they
        will be after it: the file's, plus the database's not in the file."""
        townships = _areas(self.conn, """a.kind = 'township' AND a.id IN (
            SELECT parent_id FROM stage_area WHERE action <> 'unchanged'
            UNION
            SELECT c.parent_id FROM stage_area s JOIN area c ON c.id = s.current_id
             WHERE s.action <> 'unchanged')""", {})  # fmt: skip
        if not len(townships["id"]):
            return None
        wanted = townships["id"].tolist()
        others = _areas(
            self.conn,
            """a.kind = 'village' AND a.parent_id = ANY(:t)
            AND a.code NOT IN (SELECT code FROM stage_area)""",
            {"t": wanted},
        )
        mine = self.conn.execute(sa.text(
            "SELECT row_no, code, parent_id FROM stage_area WHERE parent_id = ANY(:t)"
        ), {"t": wanted}).all()  # fmt: skip
        villages = {
            "code": np.concatenate([others["code"],
                                    np.array([m[1] for m in mine], dtype=object)]),
            "parent": np.concatenate([others["parent"],
                                      np.array([m[2] for m in mine], dtype=object)]),
            "geom": np.concatenate([others["geom"], np.array(
                [self.geoms[m[0]] for m in mine], dtype=object)]),
        }  # fmt: skip
        return townships, villages

    def _pieces(self, rows: list[int]) -> tuple[list[int], list[bytes]]:
        """Lookup pieces (EWKB) of the polygons of ``rows``, with their row."""
        pieces, which = subdivide(np.array([self.geoms[r] for r in rows], dtype=object))
        ewkb = shapely.to_wkb(shapely.set_srid(pieces, 4326), include_srid=True)
        return np.asarray(rows, dtype=int)[which].tolist(), list(ewkb)

    def _move_dependants(self) -> None:
        """What pointed at an old generation points at its successor."""
        moves = "SELECT current_id AS old, new_id AS new FROM stage_area " \
                "WHERE action = 'generation'"  # fmt: skip
        for sql in (
            f"UPDATE area c SET parent_id = m.new FROM ({moves}) m "
            "WHERE c.parent_id = m.old AND c.valid_to IS NULL",
            f"UPDATE officer_area o SET area_id = m.new FROM ({moves}) m "
            "WHERE o.area_id = m.old",
            f"UPDATE person_area o SET area_id = m.new FROM ({moves}) m "
            "WHERE o.area_id = m.old",
            f"UPDATE grid_member_area g SET area_id = m.new FROM ({moves}) m "
            "WHERE g.area_id = m.old",
            f"UPDATE app_user u SET station_id = m.new FROM ({moves}) m "
            "WHERE u.station_id = m.old",
        ):
            self.conn.execute(sa.text(sql))


# Boundary properties the generations logic handles by name; the others
# (population, households, subkind...) are staged, compared and written as
# the catalog lists them.
_BY_NAME = ("code", "name", "parent", "valid_from", "wkt")
# How bulk.copy_binary sends each catalog type.
_COPY_TYPES = {"int": "int", "float": "float8", "text": "text", "choice": "text",
               "date": "date"}  # fmt: skip


def _attributes() -> tuple:
    """The other stored properties of every boundary layer, in catalog order
    (a layer without one, like districts without subkind, writes NULL)."""
    found: dict = {}
    for layer in catalog.boundary_kinds():
        for prop in catalog.get(layer).imported:
            if prop.stored and prop.name not in _BY_NAME:
                found.setdefault(prop.name, prop)
    return tuple(found.values())


def _stage(attributes) -> list[tuple[str, str]]:
    return [
        ("row_no", "int"), ("code", "text"), ("name", "text"),
        ("parent_code", "text"), ("code_given", "text"),
        *((p.name, _COPY_TYPES[p.kind]) for p in attributes),
        ("valid_from", "date"),
    ]  # fmt: skip


def _value_at(values, kind: str, i: int):
    """Row ``i`` of a parsed column as the stage takes it (None when absent)."""
    if values is None:
        return None
    if kind == "int":
        return _int_at(values, i)
    if kind == "float":
        return float(values[i]) if np.isfinite(values[i]) else None
    if kind == "date":
        return _day(values[i])
    return values[i]


_GEOMS = [("row_no", "int"), ("geom", "geometry")]
_LABEL = {"district": "区县", "township": "乡镇街道", "village": "村社区",
          "grid": "网格", "police_station": "派出所"}  # fmt: skip


def _int_at(numbers, i):
    if numbers is None or not np.isfinite(numbers[i]):
        return None
    return int(numbers[i])


def _day(moment: datetime | None) -> date | None:
    """A parsed time (UTC) as its Beijing calendar day."""
    return None if moment is None else moment.astimezone(BEIJING).date()


def _today() -> date:
    return datetime.now(BEIJING).date()


def _sql_date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def topology(conn: sa.Connection, kind: str, found=()) -> list[Finding]:
    """Topology warnings where this import touched the boundaries.

    Uses the ``stage_area`` table of the import (its ``new_id`` / ``current_id``
    say which areas were written).  Each finding has the row of the imported
    feature it concerns (when it is in the file), a point inside the problem
    and its area in m²; pieces under :data:`TOPOLOGY_MIN_M2` are ignored.
    ``found`` are findings the caller computed already, as
    ``(code, other code, piece, what)``.

    GEOS's coverage validation (shapely's ``coverage_invalid_edges``) finds the
    villages whose edges do not match their neighbours' in one pass over the
    township; only those are intersected pairwise.  A clean township's union is
    a coverage union, which is fast; its difference from the township is the
    gaps.
    """
    touched = dict(conn.execute(sa.text("""
        SELECT coalesce(new_id, current_id), row_no FROM stage_area
         WHERE action <> 'unchanged'""")).all())  # fmt: skip
    if not touched:
        return []
    ids = list(touched)
    codes = dict(conn.execute(
        sa.text("SELECT id, code FROM area WHERE id = ANY(:ids)"), {"ids": ids}
    ).all())  # fmt: skip
    rows = {codes[i]: row for i, row in touched.items()}
    found = list(found)
    if kind == "township":
        townships = _areas(conn, "a.id = ANY(:ids)", {"ids": ids})
        villages = _areas(conn, "a.kind = 'village' AND a.parent_id = ANY(:t)",
                          {"t": townships["id"].tolist()})  # fmt: skip
        found += _township_findings(townships, villages)
    if kind in ("village", "grid"):
        found += _grids_outside(conn, ids)
    if kind == "police_station":
        stations = _areas(conn, "a.kind = 'police_station'", {})
        found += [
            (a, b, piece, "station_overlap")
            for a, b, piece in _overlaps(stations["code"], stations["geom"])
        ]
    findings = []
    for first, second, piece, what in found:
        area = _area_m2(piece)
        if area < TOPOLOGY_MIN_M2:
            continue
        point = piece.point_on_surface()
        findings.append(Finding(
            rows.get(first, rows.get(second)), "geometry", "warning",
            _WORDS[what](first, second, area),
            location=(round(point.x, 7), round(point.y, 7)),
            area_m2=round(area, 1),
        ))  # fmt: skip
    return findings


def _areas(conn, where: str, params: dict) -> dict[str, np.ndarray]:
    """Current areas matching ``where`` (SQL over ``area a``), as arrays."""
    result = conn.execute(
        sa.text(f"""
        SELECT a.id, a.code, a.parent_id, ST_AsBinary(a.geom) FROM area a
         WHERE a.valid_to IS NULL AND {where} ORDER BY a.code"""),
        params,
    ).all()
    columns = list(zip(*result, strict=True)) if result else [[], [], [], []]
    return {
        "id": np.array(columns[0], dtype=np.int64),
        "code": np.array(columns[1], dtype=object),
        "parent": np.array(columns[2], dtype=object),
        "geom": shapely.from_wkb(np.array([bytes(g) for g in columns[3]], dtype=object))
        if result
        else np.array([], dtype=object),
    }


def _township_findings(townships: dict, villages: dict) -> list:
    """Overlapping villages and gaps in ``townships`` (arrays of id, code, geom),
    given their ``villages`` (arrays of code, parent id, geom)."""
    found = []
    for township_id, code, outline in zip(
        townships["id"], townships["code"], townships["geom"], strict=True
    ):
        mine = villages["parent"] == township_id
        geoms = villages["geom"][mine]
        overlaps = _overlaps(villages["code"][mine], geoms)
        found += [(a, b, piece, "village_overlap") for a, b, piece in overlaps]
        if not len(geoms):
            continue
        union = (
            shapely.union_all(geoms) if overlaps else shapely.coverage_union_all(geoms)
        )
        # Overlaying two county-sized outlines costs a second; when the areas
        # agree to a billionth there is no gap worth a finding (a gap and an
        # equal bulge outside the township cancelling exactly is not real data).
        if abs(outline.area - union.area) <= 1e-9 * outline.area:
            continue
        gaps = _polygonal(shapely.difference(outline, union))
        for gap in shapely.get_parts(gaps) if gaps is not None else ():
            found.append((code, None, gap, "gap"))
    return found


def _overlaps(codes: np.ndarray, geoms: np.ndarray) -> list:
    """(code, code, overlap) for polygons whose interiors overlap."""
    if len(geoms) < 2:
        return []
    edges = shapely.coverage_invalid_edges(geoms)
    flagged = np.flatnonzero(~shapely.is_empty(edges) & ~shapely.is_missing(edges))
    if not len(flagged):
        return []
    tree = shapely.STRtree(geoms)
    mine, other = tree.query(geoms[flagged], predicate="intersects")
    found, seen = [], set()
    for a, b in zip(flagged[mine], other, strict=True):
        pair = (min(a, b), max(a, b))
        if a == b or pair in seen:
            continue
        seen.add(pair)
        piece = _polygonal(shapely.intersection(geoms[a], geoms[b]))
        if piece is not None:
            first, second = sorted((codes[a], codes[b]))
            found.append((first, second, piece))
    return found


def _grids_outside(conn, ids: list[int]) -> list:
    """Grids reaching outside their village (grids or villages the import
    touched)."""
    result = conn.execute(sa.text("""
        SELECT g.code, v.code, ST_AsBinary(g.geom), ST_AsBinary(v.geom)
          FROM area g JOIN area v ON v.id = g.parent_id
         WHERE g.kind = 'grid' AND g.valid_to IS NULL
           AND (g.id = ANY(:ids) OR v.id = ANY(:ids))
         ORDER BY g.code"""), {"ids": ids}).all()  # fmt: skip
    if not result:
        return []
    grid_codes, village_codes, grids, villages = zip(*result, strict=True)
    grids = shapely.from_wkb([bytes(g) for g in grids])
    villages = shapely.from_wkb([bytes(v) for v in villages])
    outside = ~shapely.covers(villages, grids)
    found = []
    for i in np.flatnonzero(outside):
        piece = _polygonal(shapely.difference(grids[i], villages[i]))
        if piece is not None:
            found.append((grid_codes[i], village_codes[i], piece, "grid_outside"))
    return found


_WORDS = {
    "village_overlap": lambda a, b, m2: (
        f"村社 {a} 与 {b} 重叠 {m2:,.0f} m² / villages {a} and {b} overlap by "
        f"{m2:,.0f} m²"
    ),
    "gap": lambda t, _, m2: (
        f"乡镇街道 {t} 内有 {m2:,.0f} m² 不属于任何村社（空隙） / a gap of "
        f"{m2:,.0f} m² in township {t} belongs to no village"
    ),
    "grid_outside": lambda g, v, m2: (
        f"网格 {g} 有 {m2:,.0f} m² 超出所属村社 {v} / grid {g} reaches {m2:,.0f} m² "
        f"outside its village {v}"
    ),
    "station_overlap": lambda a, b, m2: (
        f"派出所辖区 {a} 与 {b} 重叠 {m2:,.0f} m² / police stations {a} and {b} "
        f"overlap by {m2:,.0f} m²"
    ),
}
