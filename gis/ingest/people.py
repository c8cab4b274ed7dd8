"""Import tables of people who answer for places: officers (民警, 辅警), grid
members (网格员) and people of every other duty role (法律顾问, 人民调解员, any
role a county adds).

One loader for both layers; what differs is a :class:`Roster` (the table, its
links to areas, the column holding the role, the further columns):

- ``officers``: ``code`` (警号), ``name``, ``kind`` (民警/police, 辅警/auxiliary),
  ``post`` (the post's code), ``phone``, ``areas``; into ``officer`` and
  ``officer_area``.  Officers answer for villages or grids.
- ``grid_members``: ``code``, ``name``, ``kind`` (专职/full_time, 兼职/part_time),
  ``phone``, ``areas`` (their grids); into ``grid_member`` and
  ``grid_member_area``.
- ``people``: ``code``, ``name``, ``role`` (a ``duty_role`` code or its Chinese
  label), ``post`` or ``office``, ``phone``, ``capacity`` (places, overriding
  the role's), ``areas``; into ``person`` and ``person_area``.  Roles are data
  (a county adds rows to ``duty_role``), so they are checked against that table
  when the file is imported, not against a list in the catalog; a person
  answers for villages or for grids, as their role's ``answers_for`` says.

``areas`` holds the codes of current villages or grids, separated by ``;``,
``,``, ``、`` or spaces.  People upsert by code; a person's area list replaces
the one in the database, the ended assignments closed with ``valid_to`` (kept
for historic lookups), not deleted.  Unknown roles, posts and area codes, and
an area of the wrong kind for the role, reject their row.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from gis import bulk
from gis.ingest import fields
from gis.ingest.pipeline import Run, Steps
from gis.ingest.report import Report

logger = logging.getLogger(__name__)

AREA_SEPARATORS = re.compile(r"[;；,，、\s]+")
STAGE = "stage_people"
# What the file gives, staged under one set of names for every roster (a
# column the layer lacks stays NULL).  capacity is numeric: the parser reads
# numbers as floats and COPY would refuse "3.0" for an integer.
STAGED = (("code", "text"), ("name", "text"), ("role", "text"),
          ("post", "text"), ("phone", "text"), ("office", "text"),
          ("capacity", "numeric"))  # fmt: skip
AREA_WORDS = {"village": ("村/社区", "villages"), "grid": ("网格", "grids")}


@dataclass(frozen=True)
class Roster:
    """Where one layer of people is stored: the loader's only variable part.

    Parameters
    ----------
    table : str
        ``officer`` or ``person`` (``code`` unique, ``post_id``).
    links : str
        The table of their areas (``officer_area``), with ``area_id``,
        ``valid_from`` and ``valid_to``.
    key : str
        The column of ``links`` naming the person (``officer_id``).
    role : str
        The column of ``table`` holding the role (``kind``, ``role``).
    extra : tuple of str
        Further columns of ``table`` written from the staged column of the
        same name (``office``, ``capacity``).
    roles_from_table : bool
        Check the role against ``duty_role`` (code or label) and take the kind
        of area it answers for from there.  Otherwise the catalog's choice has
        checked it, and the areas are of :attr:`area_kinds`.
    area_kinds : tuple of str
        The kinds of area people of this layer answer for, when the role does
        not say (officers: villages and grids; grid members: grids).
    posts : bool
        The table has a ``post_id`` (a home 警务室/工作站).
    """

    table: str
    links: str
    key: str
    role: str
    extra: tuple[str, ...] = ()
    roles_from_table: bool = False
    area_kinds: tuple[str, ...] = ("village", "grid")
    posts: bool = True

    @property
    def written(self) -> tuple[str, ...]:
        """Columns of :attr:`table` the import writes, ``code`` aside."""
        post = ("post_id",) if self.posts else ()
        return ("name", self.role, *post, "phone", *self.extra)


ROSTERS = {
    "officers": Roster("officer", "officer_area", "officer_id", "kind"),
    "grid_members": Roster("grid_member", "grid_member_area", "member_id", "kind",
                           area_kinds=("grid",), posts=False),
    "people": Roster("person", "person_area", "person_id", "role",
                     ("office", "capacity"), roles_from_table=True),
}  # fmt: skip
"""Layer → where its people go."""


def import_people(
    engine: sa.Engine, layer: str, path: Path, report_path=None, **options
) -> Report:
    """Import a table of people (see the module doc) into ``layer`` (a key of
    :data:`ROSTERS`); the contract of :func:`gis.ingest.import_file`."""
    steps = PeopleSteps(layer, ROSTERS[layer])
    return Run(engine, layer, path, report_path, **options).execute(steps)


class PeopleSteps(Steps):
    """A roster's part of the import run: stage the parsed rows, find their
    roles, posts and areas in the database, upsert people and their areas."""

    keep_raw = True
    stage_after_error = True  # unknown posts and areas of every row reported

    def __init__(self, layer: str, roster: Roster):
        self.layer, self.roster = layer, roster

    def begin(self, run) -> None:
        self.cursor = run.conn.connection.cursor()
        bulk.create_temp(
            self.cursor, STAGE, [("row_no", "int"), *STAGED, ("areas", "text[]")]
        )

    def stage(self, run, chunk, values, keep) -> None:
        fields.fill_defaults(self.layer, values, len(chunk))
        _stage(self.cursor, chunk, values, keep, self.roster)

    def resolve(self, run) -> list:
        return _resolve(run.conn, self.layer, self.roster)

    def write(self, run) -> tuple[int, int]:
        return _write(run.conn, self.roster, "areas" in run.matched)


def _stage(cursor, chunk, values, keep, roster: Roster) -> None:
    """COPY the good rows of a parsed chunk into the stage."""
    names = ["row_no", *(c for c, _ in STAGED), "areas"]
    # The file's field behind each staged column (officers call the role kind).
    taken = [roster.role if c == "role" else c for c, _ in STAGED]
    absent = [None] * len(chunk)
    rows = []
    for i in np.flatnonzero(keep):
        areas = values.get("areas", absent)[i]
        rows.append([
            chunk.numbers[i],
            *(values.get(c, absent)[i] for c in taken),
            _array(AREA_SEPARATORS.split(areas.strip()) if areas else []),
        ])  # fmt: skip
    bulk.copy_rows(cursor, STAGE, names, rows)


def _array(codes: list[str]) -> str:
    """A PostgreSQL text[] literal for COPY (codes are checked to be plain)."""
    quoted = ('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in codes)
    return "{" + ",".join(quoted) + "}"


def _resolve(conn: sa.Connection, layer: str, roster: Roster) -> list:
    """Find roles, posts and areas; return ``(row, field, reason)`` for the rows
    naming ones that do not exist, or areas of a kind their role does not
    answer for, and drop those rows from the stage."""
    conn.execute(
        sa.text(f"""
        ALTER TABLE {STAGE} ADD COLUMN role_code text, ADD COLUMN area_kinds text[],
                            ADD COLUMN post_id bigint, ADD COLUMN area_ids bigint[];
        UPDATE {STAGE} s SET post_id = p.id FROM post p WHERE p.code = s.post""")
    )
    if roster.roles_from_table:
        # A code in any case, or the Chinese label a planner types.
        conn.execute(
            sa.text(f"""
            UPDATE {STAGE} s SET role_code = r.code, area_kinds = ARRAY[r.answers_for]
              FROM duty_role r
             WHERE r.code = lower(s.role) OR r.label = s.role""")
        )
    else:
        # An empty cell takes the catalog's default (a grid member is 专职).
        conn.execute(
            sa.text(f"UPDATE {STAGE} SET role_code = coalesce(role, :default), "
                    "area_kinds = :kinds"),
            {"kinds": list(roster.area_kinds),
             "default": fields.defaults(layer).get(roster.role)},
        )  # fmt: skip
    conn.execute(
        sa.text(f"""
        UPDATE {STAGE} s SET area_ids = coalesce((
            SELECT array_agg(a.id ORDER BY a.id) FROM area a
             WHERE a.code = ANY(s.areas) AND a.kind = ANY(s.area_kinds)
               AND a.valid_to IS NULL), '{{}}')""")
    )
    problems = _unknown_roles(conn) + _unknown_posts(conn) + _bad_areas(conn)
    if problems:
        conn.execute(
            sa.text(f"DELETE FROM {STAGE} WHERE row_no = ANY(:rows)"),
            {"rows": sorted({p[0] for p in problems})},
        )
    return problems


def _unknown_roles(conn: sa.Connection) -> list:
    rows = conn.execute(sa.text(
        f"SELECT row_no, role FROM {STAGE} WHERE role_code IS NULL"
    )).all()  # fmt: skip
    if not rows:
        return []
    known = ", ".join(
        f"{code}({label})"
        for code, label in conn.execute(
            sa.text("SELECT code, label FROM duty_role ORDER BY sort_order, code")
        )
    )
    return [(row, "role", (
        f"角色 {role} 不存在 / no duty role {role!r}; one of {known} "
        "(a county adds roles to duty_role)"
    )) for row, role in rows]  # fmt: skip


def _unknown_posts(conn: sa.Connection) -> list:
    return [(row, "post", (
        f"警务室 {code} 不存在，请先导入 posts / no post with code {code}; "
        "import posts first"
    )) for row, code in conn.execute(sa.text(
        f"SELECT row_no, post FROM {STAGE} WHERE post IS NOT NULL AND post_id IS NULL"
    ))]  # fmt: skip


def _bad_areas(conn: sa.Connection) -> list:
    """Area codes that are no current village or grid, or one of the kind the
    row's role does not answer for (a mediator given a grid)."""
    problems = []
    loaded = conn.execute(sa.text(
        "SELECT EXISTS (SELECT FROM area WHERE kind IN ('village', 'grid'))"
    )).scalar()  # fmt: skip
    for row, unknown in conn.execute(sa.text(f"""
        SELECT s.row_no, array_agg(c ORDER BY c) FROM {STAGE} s, unnest(s.areas) c
         WHERE NOT EXISTS (SELECT 1 FROM area a WHERE a.code = c
                              AND a.kind IN ('village', 'grid') AND a.valid_to IS NULL)
         GROUP BY s.row_no""")):  # fmt: skip
        codes = ", ".join(unknown)
        problems.append((row, "areas", (
            f"没有编码为 {codes} 的现行村社或网格 / no current village or grid "
            f"with code {codes}" + ("" if loaded else (
                "；尚未导入任何村社：请先导入村社（villages）和网格（grids） / none "
                "is loaded yet: import the villages (and grids) first"))
        )))  # fmt: skip
    for row, role, wanted, wrong in conn.execute(sa.text(f"""
        SELECT s.row_no, s.role_code, s.area_kinds[1], array_agg(c ORDER BY c)
          FROM {STAGE} s, unnest(s.areas) c
         WHERE s.role_code IS NOT NULL
           AND EXISTS (SELECT 1 FROM area a WHERE a.code = c
                          AND a.kind IN ('village', 'grid') AND a.valid_to IS NULL)
           AND NOT EXISTS (SELECT 1 FROM area a WHERE a.code = c
                              AND a.kind = ANY(s.area_kinds) AND a.valid_to IS NULL)
         GROUP BY s.row_no, s.role_code, s.area_kinds[1]""")):  # fmt: skip
        codes = ", ".join(wrong)
        zh, en = AREA_WORDS[wanted]
        problems.append((row, "areas", (
            f"角色 {role} 只负责{zh}，{codes} 不是{zh}编码 / role {role} answers "
            f"for {en}: {codes} is not the code of one; list {en} in areas"
        )))  # fmt: skip
    return problems


def _write(conn: sa.Connection, roster: Roster, with_areas: bool) -> tuple[int, int]:
    """Upsert people and (when the file has the column) their areas; return
    (rows accepted, of which unchanged)."""
    staged = conn.execute(sa.text(f"SELECT count(*) FROM {STAGE}")).scalar()
    t = roster.table
    # The staged column behind each written one: the role was resolved.
    source = {"name": "name", roster.role: "role_code", "post_id": "post_id",
              "phone": "phone", **{c: c for c in roster.extra}}  # fmt: skip
    columns = ", ".join(roster.written)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in roster.written)
    changed = " OR ".join(
        f"{t}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in roster.written
    )
    written = set(conn.execute(sa.text(f"""
        INSERT INTO {t} (code, {columns})
        SELECT code, {", ".join(source[c] for c in roster.written)} FROM {STAGE}
        ON CONFLICT (code) DO UPDATE SET {updates} WHERE {changed}
        RETURNING code""")).scalars())  # fmt: skip
    if with_areas:
        written |= _move(conn, roster)
    return staged, staged - len(written)


def _move(conn: sa.Connection, roster: Roster) -> set[str]:
    """Make each staged person's current areas their file's list; return the
    codes of those whose list changed."""
    t, links, key = roster.table, roster.links, roster.key
    # An assignment that ends is closed today, not deleted, so a historic
    # lookup (``--at``) still finds who answered then; one made today and
    # already replaced never held a day (valid_to must follow valid_from),
    # and goes.
    conn.execute(sa.text(f"""
        CREATE TEMP TABLE people_moves ON COMMIT DROP AS
        SELECT x.id, s.code, s.area_ids FROM {STAGE} s
          JOIN {t} x ON x.code = s.code
         WHERE s.area_ids IS DISTINCT FROM (
               SELECT coalesce(array_agg(l.area_id ORDER BY l.area_id), '{{}}')
                 FROM {links} l WHERE l.{key} = x.id AND l.valid_to IS NULL);
        DELETE FROM {links} l USING people_moves m
         WHERE l.{key} = m.id AND l.valid_to IS NULL
           AND l.valid_from >= current_date AND NOT l.area_id = ANY (m.area_ids);
        UPDATE {links} l SET valid_to = current_date FROM people_moves m
         WHERE l.{key} = m.id AND l.valid_to IS NULL
           AND NOT l.area_id = ANY (m.area_ids);
        INSERT INTO {links} ({key}, area_id, valid_from)
        SELECT m.id, a, current_date FROM people_moves m, unnest(m.area_ids) a
         WHERE NOT EXISTS (SELECT 1 FROM {links} l
                            WHERE l.{key} = m.id AND l.area_id = a
                              AND l.valid_to IS NULL)"""))  # fmt: skip
    return set(conn.execute(sa.text("SELECT code FROM people_moves")).scalars())
