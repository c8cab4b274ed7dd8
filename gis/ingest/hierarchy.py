"""Codes as counties write them, and the hierarchy built from the bottom up.

Statistical division codes (统计用区划代码) are stored in their 12-digit form:
a district's is its 6-digit GB/T 2260 code and six zeros (``130403`` →
``130403000000``), a township's its 9 digits (county + GB/T 10114) and three
zeros, a village's all twelve.  :func:`normalise_codes` accepts the short
forms a county writes, keeps what the file said (``area.code_given``) and
tells the report what it changed.

Many counties have village outlines only, with a 乡镇 column or codes whose
prefix names the township.  :func:`derive_parents` builds the missing
townships — and the district, when none is loaded at all — by dissolving the
staged villages (or townships), marked ``derived`` with their population
summed; a later import of the real outline has the same code and replaces
the derived one as a new generation (:mod:`gis.ingest.areas`).

These functions work on the boundary import's stage (``stage_area`` with
``parent_code``/``parent_id``, ``stage_geom``), inside its transaction.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import sqlalchemy as sa

logger = logging.getLogger(__name__)

# Digits a short code has, by area kind, padded with zeros to twelve.
SHORT_CODES = {"district": 6, "township": 9}
# Digits of a child's code its parent's shares: a township's first 6 are its
# district's, a village's first 9 its township's.
PREFIX = {"township": 6, "village": 9}
_DIGITS = re.compile(r"^[0-9]+$")
_LABEL = {"district": "区县", "township": "乡镇街道"}


def normalise_codes(kind: str, parent_kind: str | None, values: dict) -> list:
    """Pad short statistical codes in ``values['code']`` (and codes of the
    parent in ``values['parent']``) to 12 digits, in place.

    Sets ``values['code_given']`` (the code as written where it changed,
    else None) and returns ``(given, stored)`` for each code changed.
    """
    codes = values["code"]
    given = np.full(len(codes), None, dtype=object)
    changed = []
    width = SHORT_CODES.get(kind)
    for i, code in enumerate(codes):
        if width and code and len(code) == width and _DIGITS.match(code):
            given[i], codes[i] = code, code.ljust(12, "0")
            changed.append((code, codes[i]))
    values["code_given"] = given
    width = SHORT_CODES.get(parent_kind)
    parents = values.get("parent")
    if width and parents is not None:
        for i, code in enumerate(parents):
            if code and len(code) == width and _DIGITS.match(code):
                parents[i] = code.ljust(12, "0")
                changed.append((code, parents[i]))
    return changed


def normalised_note(changed: list) -> str:
    """The report's note on the codes :func:`normalise_codes` padded."""
    shown = "，".join(f"{a} → {b}" for a, b in changed[:5])
    more = "…" if len(changed) > 5 else ""
    return (
        f"{len(changed)} 个短区划代码已补足为 12 位（{shown}{more}），原代码保存在 "
        f"code_given / normalised {len(changed)} short codes to the stored 12-digit "
        f"form ({', '.join(f'{a} -> {b}' for a, b in changed[:5])}{more}); the "
        "codes as given are kept in area.code_given"
    )


def place_by_name(conn: sa.Connection, parent_kind: str) -> None:
    """Staged rows whose ``parent`` is a name (所属乡镇: 城关镇) get the one
    current area of ``parent_kind`` so named (none when two share it)."""
    conn.execute(
        sa.text("""
        UPDATE stage_area s SET parent_id = p.id
          FROM (SELECT name, min(id) AS id FROM area
                 WHERE kind = :pk AND valid_to IS NULL
                 GROUP BY name HAVING count(*) = 1) p
         WHERE s.parent_id IS NULL AND s.parent_code = p.name"""),
        {"pk": parent_kind},
    )


def derive_parents(
    conn: sa.Connection, kind: str, parent_kind: str, source: str
) -> tuple[int, int]:
    """Build the missing parents of the staged rows no parent was found for,
    by dissolving them (see the module doc); return how many were built.

    The parent's code is the row's ``parent`` when that is a 12-digit code,
    else the prefix of the row's own code; its name the row's ``parent`` when
    that is a name.  A township needs a district: the one whose code it
    extends, else the one holding it, else (when no district is loaded at
    all) one dissolved in turn.  Nothing is dissolved at a level that
    holds a real (imported, not derived) outline: there a parent not found
    is a mistake in the file, not a missing layer.  Returns (parents built,
    districts built for them).
    """
    width = PREFIX.get(kind)
    if width is None or _surveyed(conn, parent_kind):
        return 0, 0
    key = (
        "CASE WHEN s.parent_code ~ '^[0-9]{12}$' THEN s.parent_code "
        f"ELSE rpad(left(s.code, {width}), 12, '0') END"
    )
    conn.execute(sa.text(f"""
        DROP TABLE IF EXISTS derived_parent;
        CREATE TEMP TABLE derived_parent ON COMMIT DROP AS
        SELECT {key} AS code,
               min(s.parent_code) FILTER (WHERE s.parent_code !~ '^[0-9]+$') AS name,
               sum(s.population) AS population, sum(s.households) AS households,
               ST_Multi(ST_CollectionExtract(ST_Union(g.geom), 3)) AS geom
          FROM stage_area s JOIN stage_geom g USING (row_no)
         WHERE s.parent_id IS NULL AND s.code ~ '^[0-9]{{12}}$'
         GROUP BY 1;
        ALTER TABLE derived_parent ADD COLUMN parent_id bigint;
        DELETE FROM derived_parent d USING area a
         WHERE a.kind = :pk AND a.code = d.code AND a.valid_to IS NULL"""),
        {"pk": parent_kind})  # fmt: skip
    districts = _district_of_derived(conn, source) if parent_kind == "township" else 0
    built = conn.execute(
        sa.text("""
        INSERT INTO area (kind, code, name, parent_id, population, households,
                          geom, derived, source)
        SELECT :pk, d.code,
               coalesce(d.name, :label || ' ' || left(d.code, :w) || '（由下级合成）'),
               d.parent_id, d.population, d.households, d.geom, true, :src
          FROM derived_parent d
         WHERE :pk = 'district' OR d.parent_id IS NOT NULL"""),
        {"pk": parent_kind, "label": _LABEL[parent_kind], "src": source,
         "w": SHORT_CODES[parent_kind]},  # fmt: skip
    ).rowcount
    conn.execute(
        sa.text(f"""
        UPDATE stage_area s SET parent_id = p.id FROM area p
         WHERE s.parent_id IS NULL AND p.kind = :pk AND p.valid_to IS NULL
           AND p.derived AND p.code = {key}"""),
        {"pk": parent_kind},
    )
    return built, districts


def _surveyed(conn: sa.Connection, kind: str) -> bool:
    """Whether a current area of ``kind`` was imported rather than derived."""
    return conn.execute(sa.text(
        "SELECT EXISTS (SELECT FROM area WHERE kind = :k AND valid_to IS NULL "
        "AND NOT derived)"
    ), {"k": kind}).scalar()  # fmt: skip


def _district_of_derived(conn: sa.Connection, source: str) -> int:
    """Give each township about to be derived its district (``parent_id``):
    by code, else by place; with no real district outline loaded, dissolve
    those still without one into one per 6-digit prefix (returns how many;
    a derived district grows with them afterwards, :func:`refresh_derived`)."""
    conn.execute(sa.text("""
        UPDATE derived_parent d SET parent_id = coalesce(
            (SELECT a.id FROM area a WHERE a.kind = 'district' AND a.valid_to IS NULL
                AND a.code = rpad(left(d.code, 6), 12, '0')),
            (SELECT a.id FROM area a WHERE a.kind = 'district' AND a.valid_to IS NULL
                AND ST_Intersects(a.geom, ST_PointOnSurface(d.geom))
              ORDER BY a.code LIMIT 1))"""))  # fmt: skip
    if _surveyed(conn, "district"):
        return 0
    built = conn.execute(
        sa.text("""
        INSERT INTO area (kind, code, name, population, households, geom, derived,
                          source)
        SELECT 'district', d.code, '区县 ' || left(d.code, 6) || '（由下级合成）',
               sum(d.population), sum(d.households),
               ST_Multi(ST_CollectionExtract(ST_Union(d.geom), 3)), true, :src
          FROM (SELECT rpad(left(code, 6), 12, '0') AS code, population,
                       households, geom FROM derived_parent
                 WHERE parent_id IS NULL) d
         GROUP BY d.code"""),
        {"src": source},
    ).rowcount
    conn.execute(sa.text("""
        UPDATE derived_parent d SET parent_id = a.id FROM area a
         WHERE d.parent_id IS NULL
           AND a.kind = 'district' AND a.valid_to IS NULL AND a.derived
           AND a.code = rpad(left(d.code, 6), 12, '0')"""))  # fmt: skip
    return built


def refresh_derived(conn: sa.Connection) -> int:
    """Make each current derived township and district the union of its
    current children again, population and households their sums; return how
    many changed.

    A county may send its villages a township at a time: the township and
    district dissolved from the first file must grow with the next, or the
    next file's villages would lie outside "the loaded district".  Townships
    first, so that a district sums the townships as they now are.  An outline
    that covers the same ground is left as it is (a file loaded again changes
    nothing); a changed one is updated in place (its lookup pieces are cut
    again by the area trigger): a derived area is a by-product of its
    children, with no history of its own to keep.  Parents built in this
    transaction (``updated_at`` is its start, ``now()``) were dissolved from
    exactly these children a moment ago and are not dissolved twice.
    """
    outline = """ST_Multi(ST_CollectionExtract(
                       ST_Union(c.geom ORDER BY c.code), 3)) AS geom"""
    children = """
        WITH children AS (
            SELECT p.id, sum(c.population) AS population,
                   sum(c.households) AS households, {outline}
              FROM area p
              JOIN area c ON c.parent_id = p.id AND c.valid_to IS NULL
             WHERE p.kind = :k AND p.derived AND p.valid_to IS NULL
               AND p.updated_at < now()  -- not one built just now
             GROUP BY p.id)"""
    changed = 0
    for kind in ("township", "district"):
        # Naming geom in an UPDATE cuts the lookup pieces again: only where
        # the outline changed.
        changed += conn.execute(sa.text(children.format(outline=outline) + """
            UPDATE area p SET geom = c.geom, population = c.population,
                              households = c.households
              FROM children c
             WHERE p.id = c.id AND NOT ST_Equals(p.geom, c.geom)"""),
            {"k": kind},
        ).rowcount  # fmt: skip
        # The rest, sums only (those just grown are this transaction's now).
        changed += conn.execute(sa.text(children.format(outline="1") + """
            UPDATE area p SET population = c.population, households = c.households
              FROM children c
             WHERE p.id = c.id
               AND (p.population IS DISTINCT FROM c.population
                    OR p.households IS DISTINCT FROM c.households)"""),
            {"k": kind},
        ).rowcount  # fmt: skip
    return changed


def grown_note(changed: int) -> str:
    """The report's note on the derived areas :func:`refresh_derived` grew."""
    return (
        f"由下级合成的乡镇街道/区县 {changed} 个已按现有下级边界重新合成（边界、人口）"
        f" / {changed} derived township(s)/district(s) dissolved again from their "
        "current children (outline, population)"
    )


def derived_note(kind: str, built: int, districts: int) -> str:
    """The report's note on the parents :func:`derive_parents` built."""
    label = _LABEL["township" if kind == "village" else "district"]
    extra = f"，并合成区县 {districts} 个" if districts else ""
    mine = "村社" if kind == "village" else "乡镇街道"
    return (
        f"数据库中没有这些{mine}的上级：已由其边界合成"
        f"{label} {built} 个{extra}（标记为 derived，人口为下级之和；导入真实边界时"
        f"按新版本替换） / built {built} missing parent area(s)"
        + (f" and {districts} district(s)" if districts else "")
        + " by dissolving the imported areas (marked derived, population summed); "
        "importing their real outlines replaces them as a new generation"
    )


def structure_warnings(conn: sa.Connection, kind: str) -> list:
    """``(row, 'code', reason)`` for staged rows whose code does not extend
    their parent's as statistical codes nest (a village's first 9 digits are
    its township's, a township's first 6 its district's)."""
    width = PREFIX.get(kind)
    if width is None:
        return []
    rows = conn.execute(sa.text(f"""
        SELECT s.row_no, s.code, p.code FROM stage_area s
          JOIN area p ON p.id = s.parent_id
         WHERE left(s.code, {width}) <> left(p.code, {width})
         ORDER BY s.row_no""")).all()  # fmt: skip
    return [
        (row, "code", (
            f"编码 {code} 的前 {width} 位与上级 {parent} 不一致 / code {code} does not "
            f"extend its parent's {parent} in its first {width} digits"
        ))
        for row, code, parent in rows
    ]  # fmt: skip
