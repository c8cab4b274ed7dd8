"""Pieces of every import's run (:mod:`gis.ingest.pipeline`): options, the
``import_batch`` record, the file's hash, and turning row problems into
findings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from gis import audit
from gis.ingest.report import Report
from gis.ingest.sources import Chunk


@dataclass
class Options:
    """The knobs of one import (the CLI's and the upload form's options)."""

    crs: str | None = None
    encoding: str | None = None
    layer_name: str | None = None  # GeoPackage layer or Excel worksheet
    mapping: dict[str, str] | None = None
    lenient: bool = False
    username: str | None = None
    # A progress bar on stderr: True, False, or None for "when it is a terminal".
    progress: bool | None = False
    dry_run: bool = False  # check everything, write nothing (the web preview)
    valid_from: date | None = None  # boundary layers: when changed areas apply
    timings: dict | None = None  # filled with seconds per stage (benchmarks)

    @property
    def mode(self) -> str:
        return "lenient" if self.lenient else "strict"


def sha256(path: Path) -> str:
    """Hex SHA-256 of the file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_batch(conn, layer: str, path: Path, digest: str, username) -> int:
    """Insert the ``import_batch`` row of this attempt; return its id."""
    return conn.execute(
        sa.text(
            "INSERT INTO import_batch (layer, filename, sha256, username) "
            "VALUES (:l, :f, :h, :u) RETURNING id"
        ),
        {"l": layer, "f": path.name, "h": digest, "u": username},
    ).scalar()


def close_batch(conn, batch_id: int, report: Report) -> None:
    """Write the counts, status and report of ``batch_id``, and the import's
    row in ``audit_log`` (CLI and web imports alike), in the same transaction."""
    batch = conn.execute(
        sa.text(
            "UPDATE import_batch SET finished_at = now(), read_count = :r, "
            "loaded_count = :l, rejected_count = :j, status = :s, "
            "report = CAST(:rep AS jsonb) WHERE id = :id "
            "RETURNING layer, filename, username"
        ),
        {
            "r": report.read,
            "l": report.loaded,
            "j": report.rejected,
            "s": report.status,
            "rep": json.dumps(report.to_dict(), ensure_ascii=False, default=str),
            "id": batch_id,
        },
    ).one()
    audit.record(conn, batch.username, "data.import", "layer", batch.layer, {
        "file": batch.filename, "batch": batch_id, "status": report.status,
        "read": report.read, "loaded": report.loaded, "rejected": report.rejected,
    })  # fmt: skip


def record_refusal(engine, layer: str, path: Path, digest: str, opts, report) -> None:
    """A refused (strict) import still leaves its ``import_batch`` row."""
    if opts.dry_run:
        return
    with engine.begin() as conn:
        close_batch(conn, open_batch(conn, layer, path, digest, opts.username), report)


def settle(chunk: Chunk, problems: list, report: Report) -> np.ndarray:
    """Add a chunk's problems to ``report``; return the mask of rows to keep.

    A row that could not be decoded is reported for that alone (its garbled
    values would only add noise), and each (row, field) is said once: an empty
    longitude is not also "not a number".
    """
    problems = [p for p in problems if p[0] not in chunk.broken]
    problems += [(i, None, reason) for i, reason in chunk.broken.items()]
    rejected, said = set(), set()
    for i, field_name, reason in sorted(problems, key=lambda p: p[0]):
        if (i, field_name) not in said:
            report.add(chunk.numbers[i], field_name, reason)
            said.add((i, field_name))
        rejected.add(i)
    report.read += len(chunk)
    keep = np.ones(len(chunk), dtype=bool)
    keep[list(rejected)] = False
    return keep
