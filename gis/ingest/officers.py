"""Import the officers layer: 民警 and 辅警, their post, and the villages or grids
each answers for (一村一警).

A table (CSV, XLSX; a vector file's geometry is ignored) with ``code`` (警号),
``name``, ``kind`` (民警/police, 辅警/auxiliary), ``post`` (the post's code),
``phone`` and ``areas``: the codes of the villages or grids, separated by ``;``,
``,``, ``、`` or spaces.  Officers upsert by code; an officer's area list replaces
the one in the database.  Unknown posts and area codes reject their row.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from gis import bulk
from gis.ingest import batch, fields
from gis.ingest.quarantine import write_quarantine
from gis.ingest.report import Report
from gis.ingest.sources import open_source

logger = logging.getLogger(__name__)

AREA_SEPARATORS = re.compile(r"[;；,，、\s]+")
COLUMNS = ("code", "name", "kind", "post", "phone")


def import_officers(
    engine: sa.Engine, layer: str, path: Path, report_path=None, **options
) -> Report:
    """Import an officers table (see the module doc); the contract of
    :func:`gis.ingest.import_file`."""
    opts = batch.Options(**options)
    path = Path(path)
    source = open_source(path, opts.encoding, opts.layer_name)
    report = Report.of(layer, path, opts.mode, source)
    matched = fields.match_columns(source.columns, layer, opts.mapping)
    digest = batch.sha256(path)
    with engine.connect() as conn:
        transaction = conn.begin()
        batch_id = batch.open_batch(conn, layer, path, digest, opts.username)
        cursor = conn.connection.cursor()
        bulk.create_temp(cursor, "stage_officer", [
            ("row_no", "int"), ("code", "text"), ("name", "text"), ("kind", "text"),
            ("post_code", "text"), ("phone", "text"), ("areas", "text[]"),
        ])  # fmt: skip
        seen: dict[str, int] = {}
        raw: dict[int, object] = {}
        bad_rows = []
        bar = batch.progress(opts, source)
        for chunk in source.chunks():
            values, problems = fields.parse_chunk(chunk.columns, matched, layer)
            problems += batch.duplicates(values["code"], chunk.numbers, seen)
            keep = batch.settle(chunk, problems, report)
            bad_rows += [chunk.raw[i] for i in np.flatnonzero(~keep)]
            absent = [None] * len(chunk)
            rows = []
            for i in np.flatnonzero(keep):
                raw[chunk.numbers[i]] = chunk.raw[i]
                areas = values.get("areas", absent)[i]
                rows.append([
                    chunk.numbers[i],
                    *(values.get(c, absent)[i] for c in COLUMNS),
                    _array(AREA_SEPARATORS.split(areas.strip()) if areas else []),
                ])  # fmt: skip
            bulk.copy_rows(
                cursor, "stage_officer",
                ["row_no", "code", "name", "kind", "post_code", "phone", "areas"],
                rows,
            )  # fmt: skip
            bar.update(len(chunk))
        bar.close()
        for row, field_name, reason in _resolve(conn):
            report.add(row, field_name, reason)
            bad_rows.append(raw.pop(row))
        report.rejected = len(report.rejected_rows())
        if report.errors and not opts.lenient:
            report.status = "rejected"
            transaction.rollback()
        else:
            report.loaded, report.unchanged = _write(conn, "areas" in matched)
            report.status = "loaded"
            batch.close_batch(conn, batch_id, report)
            if opts.dry_run:
                report.status = "checked"
                transaction.rollback()
            else:
                transaction.commit()
    if report.status == "rejected":
        batch.record_refusal(engine, layer, path, digest, opts, report)
    if report_path is not None:
        report.outputs = report.write(report_path)
        if opts.lenient and bad_rows:
            report.outputs.append(write_quarantine(source, bad_rows, Path(report_path)))
    return report


def _array(codes: list[str]) -> str:
    """A PostgreSQL text[] literal for COPY (codes are checked to be plain)."""
    quoted = ('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in codes)
    return "{" + ",".join(quoted) + "}"


def _resolve(conn: sa.Connection) -> list:
    """Find posts and areas; return the rows that name ones that do not exist."""
    conn.execute(
        sa.text("""
        ALTER TABLE stage_officer ADD COLUMN post_id bigint,
                                  ADD COLUMN area_ids bigint[];
        UPDATE stage_officer s SET post_id = p.id
          FROM post p WHERE p.code = s.post_code;
        UPDATE stage_officer s SET area_ids = coalesce((
            SELECT array_agg(a.id ORDER BY a.id) FROM area a
             WHERE a.code = ANY(s.areas) AND a.kind IN ('village', 'grid')
               AND a.valid_to IS NULL), '{}')""")
    )
    problems = []
    for row, code in conn.execute(sa.text(
        "SELECT row_no, post_code FROM stage_officer "
        "WHERE post_code IS NOT NULL AND post_id IS NULL"
    )):  # fmt: skip
        problems.append((row, "post", (
            f"警务室 {code} 不存在，请先导入 posts / no post with code {code}; "
            "import posts first"
        )))  # fmt: skip
    for row, unknown in conn.execute(sa.text("""
        SELECT s.row_no, array_agg(c ORDER BY c) FROM stage_officer s,
               unnest(s.areas) c
         WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = c
                              AND a.kind IN ('village', 'grid') AND a.valid_to IS NULL)
         GROUP BY s.row_no""")):  # fmt: skip
        codes = ", ".join(unknown)
        problems.append((row, "areas", (
            f"没有编码为 {codes} 的现行村社或网格 / no current village or grid "
            f"with code {codes}"
        )))  # fmt: skip
    if problems:
        conn.execute(
            sa.text("DELETE FROM stage_officer WHERE row_no = ANY(:rows)"),
            {"rows": sorted({p[0] for p in problems})},
        )
    return problems


def _write(conn: sa.Connection, with_areas: bool) -> tuple[int, int]:
    """Upsert officers and (when the file has the column) their areas; return
    (rows accepted, of which unchanged)."""
    staged = conn.execute(sa.text("SELECT count(*) FROM stage_officer")).scalar()
    written = set(conn.execute(sa.text("""
        INSERT INTO officer (code, name, kind, post_id, phone)
        SELECT code, name, kind, post_id, phone FROM stage_officer
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
               post_id = EXCLUDED.post_id, phone = EXCLUDED.phone
         WHERE officer.name IS DISTINCT FROM EXCLUDED.name
            OR officer.kind IS DISTINCT FROM EXCLUDED.kind
            OR officer.post_id IS DISTINCT FROM EXCLUDED.post_id
            OR officer.phone IS DISTINCT FROM EXCLUDED.phone
        RETURNING code""")).scalars())  # fmt: skip
    if with_areas:
        # An assignment that ends is closed today, not deleted, so a historic
        # lookup (``--at``) still finds who answered then; one made today and
        # already replaced never held a day, and goes.
        conn.execute(sa.text("""
            CREATE TEMP TABLE officer_moves ON COMMIT DROP AS
            SELECT o.id, s.code, s.area_ids FROM stage_officer s
              JOIN officer o ON o.code = s.code
             WHERE s.area_ids IS DISTINCT FROM (
                   SELECT coalesce(array_agg(oa.area_id ORDER BY oa.area_id), '{}')
                     FROM officer_area oa
                    WHERE oa.officer_id = o.id AND oa.valid_to IS NULL);
            DELETE FROM officer_area oa USING officer_moves m
             WHERE oa.officer_id = m.id AND oa.valid_to IS NULL
               AND oa.valid_from >= current_date
               AND NOT oa.area_id = ANY (m.area_ids);
            UPDATE officer_area oa SET valid_to = current_date
              FROM officer_moves m
             WHERE oa.officer_id = m.id AND oa.valid_to IS NULL
               AND NOT oa.area_id = ANY (m.area_ids);
            INSERT INTO officer_area (officer_id, area_id, valid_from)
            SELECT m.id, a, current_date FROM officer_moves m, unnest(m.area_ids) a
             WHERE NOT EXISTS (SELECT 1 FROM officer_area oa
                                WHERE oa.officer_id = m.id AND oa.area_id = a
                                  AND oa.valid_to IS NULL)"""))  # fmt: skip
        moved = conn.execute(sa.text("SELECT code FROM officer_moves")).scalars()
        written |= set(moved)
    return staged, staged - len(written)
