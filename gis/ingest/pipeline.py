"""The one import run: what every layer's import does around its own rows.

A :class:`Run` owns everything an import shares, whatever the layer: the
options, opening the file and recognising its columns, the transaction, the
``import_batch`` row, the chunk loop with its progress bar, the duplicate-code
check, settling each chunk's problems into the report, strict versus lenient,
the dry run, the report file and the quarantine of the rows left out.  A layer
supplies only its own steps (:class:`Steps`): checks, staging, writing::

    report = Run(engine, "posts", "posts.csv", crs="gcj02").execute(PointSteps("posts"))

The layers' steps live beside their writers: points, cameras, sites and
incidents in :mod:`gis.ingest.points`, boundaries in :mod:`gis.ingest.areas`,
people of every duty role in :mod:`gis.ingest.people`.  A new importable
layer is a new :class:`Steps`, not a fourth copy of this loop.

A refusal of the whole file (unreadable, a GeoPackage with several layers,
metres without a CRS) raises :class:`~gis.errors.InvalidInput` as before, and
now also leaves its ``import_batch`` row (status ``rejected``, the message as
the report's one finding) and, when asked, its report file.
"""

from __future__ import annotations

import logging
import sys
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from gis.errors import InvalidInput
from gis.ingest import batch, fields, sources
from gis.ingest.codes import SeenCodes
from gis.ingest.loader import Stopwatch
from gis.ingest.quarantine import write_quarantine
from gis.ingest.report import Report
from gis.ingest.sources import Chunk, Source, open_source

logger = logging.getLogger(__name__)


class Steps:
    """A layer's own part of an import; the :class:`Run` calls, in order:

    1. :meth:`begin`, once the transaction and the batch row are open;
    2. for every chunk, :meth:`check` (append ``(position, field, reason)``
       problems; fill values such as a derived code), then — after the run
       has settled the problems into the report — :meth:`stage` with the
       mask of the rows to keep;
    3. :meth:`resolve`: problems only the database can see (unknown parents,
       posts, roles), as ``(row number, field, reason)``; the steps drop
       those rows from their stage;
    4. :meth:`write` unless a strict import found errors: returns (rows
       accepted, of which unchanged).

    Context managers a step needs for the whole run (a writer thread) go on
    ``run.stack``: they are left, whatever happened, before the transaction
    ends.
    """

    unit = " rows"  # what the progress bar counts
    raw_times = False  # times as datetime64 (points) or datetimes
    keep_raw = False  # :meth:`resolve` may reject rows: keep their originals
    stage_after_error = False  # strict: go on staging to report every row
    optional: tuple[str, ...] = ()  # required fields the steps can make (code)

    def chunk_rows(self) -> int:
        return sources.CHUNK_ROWS

    def begin(self, run: Run) -> None:
        """Prepare the stage (temporary tables, writers) on ``run.conn``."""

    def check(self, run: Run, chunk: Chunk, values: dict, problems: list) -> None:
        """The layer's checks of one parsed chunk."""

    def stage(self, run: Run, chunk: Chunk, values: dict, keep: np.ndarray) -> None:
        """Hand the rows ``keep`` selects to the database."""

    def resolve(self, run: Run) -> list:
        return []

    def write(self, run: Run) -> tuple[int, int]:
        raise NotImplementedError


class Run:
    """One import of one file into one layer (see the module doc).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    layer : str
        A layer of :mod:`gis.catalog`.
    path : str or Path
    report_path : str or Path, optional
        Where the JSON report (and its CSV twin, and lenient the quarantine)
        go.
    connection : sqlalchemy.Connection, optional
        Run inside this connection's open transaction, as a savepoint that a
        strict refusal rolls back and success (a dry run too) releases: the
        caller commits or rolls back the whole (a folder's dry run,
        :mod:`gis.ingest.folder`).
    **options
        :class:`gis.ingest.batch.Options`.

    Attributes a step may read: ``opts``, ``source``, ``matched`` (field →
    column), ``report``, ``conn`` (inside the transaction), ``clock``,
    ``stack``.
    """

    def __init__(self, engine: sa.Engine, layer: str, path, report_path=None,
                 connection: sa.Connection | None = None, **options):  # fmt: skip
        self.engine, self.layer = engine, layer
        self.shared = connection
        self.path = Path(path)
        self.report_path = report_path
        self.opts = batch.Options(**options)
        self.clock = Stopwatch(self.opts.timings)
        self.report = Report(layer, str(self.path), self.opts.mode)
        self.source: Source | None = None
        self.matched: dict[str, str] = {}
        self.conn: sa.Connection | None = None
        self.stack: ExitStack | None = None
        self.digest: str | None = None
        self.bad_rows: list = []  # originals of the rejected rows (quarantine)
        self.raw: dict[int, object] = {}  # row number → original (keep_raw)
        self.codes = SeenCodes()

    def execute(self, steps: Steps) -> Report:
        """Run the import with ``steps``; the contract of
        :func:`gis.ingest.import_file`."""
        try:
            self._open(steps)
            self._transaction(steps)
        except InvalidInput as exc:
            self._refused(exc)
            raise
        return self._finish()

    # -- the parts ---------------------------------------------------------------

    def _open(self, steps: Steps) -> None:
        opts = self.opts
        self.source = open_source(self.path, opts.encoding, opts.layer_name)
        self.report.encoding = self.source.encoding
        self.report.notes[:0] = self.source.notes
        self.matched = fields.match_columns(
            self.source.columns, self.layer, opts.mapping,
            has_geometry=self.source.geometry_type is not None,
            optional=steps.optional,
        )  # fmt: skip
        self.digest = batch.sha256(self.path)

    def _transaction(self, steps: Steps) -> None:
        with ExitStack() as outer:
            if self.shared is None:
                self.conn = outer.enter_context(self.engine.connect())
                transaction = self.conn.begin()
            else:
                self.conn = self.shared
                transaction = self.conn.begin_nested()
                # The stage's temporary tables go with the file, not at the
                # caller's commit: the next file makes its own.
                outer.callback(self.conn.execute, sa.text("DISCARD TEMP"))
            try:
                self._steps(steps)
            except BaseException:
                transaction.rollback()
                raise
            self._settle(transaction)

    def _steps(self, steps: Steps) -> None:
        report, opts = self.report, self.opts
        self.batch_id = batch.open_batch(
            self.conn, self.layer, self.path, self.digest, opts.username
        )
        with ExitStack() as self.stack:
            steps.begin(self)
            self._read(steps)
            for row, field_name, reason in steps.resolve(self):
                report.add(row, field_name, reason)
                if row in self.raw:  # a row may have several problems
                    self.bad_rows.append(self.raw.pop(row))
            report.rejected = len(report.rejected_rows())
            if report.errors and not opts.lenient:
                report.status = "rejected"
            else:
                report.loaded, report.unchanged = steps.write(self)
                report.status = "loaded"

    def _settle(self, transaction) -> None:
        """Commit, or roll back a strict refusal or a dry run (a shared
        connection's dry run is the caller's to roll back)."""
        report = self.report
        if report.status == "rejected":
            transaction.rollback()  # strict: not one row of this file is written
            return
        batch.close_batch(self.conn, self.batch_id, report)
        if self.opts.dry_run:
            report.status = "checked"
            if self.shared is None:
                transaction.rollback()
                return
        transaction.commit()

    def _read(self, steps: Steps) -> None:
        """Parse and check every chunk; hand the good rows to the steps."""
        report, clock = self.report, self.clock
        bar = Progress(self.opts, self.source, steps.unit)
        chunks = iter(self.source.chunks(steps.chunk_rows()))
        while True:
            with clock("read"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            with clock("parse"):
                values, problems = fields.parse_chunk(
                    chunk.columns, self.matched, self.layer, raw_times=steps.raw_times
                )
            steps.check(self, chunk, values, problems)
            with clock("check"):
                problems += self.codes.duplicates(values["code"], chunk.numbers)
                keep = batch.settle(chunk, problems, report)
                self.bad_rows += [chunk.raw[i] for i in np.flatnonzero(~keep)]
                if steps.keep_raw:
                    for i in np.flatnonzero(keep):
                        self.raw[chunk.numbers[i]] = chunk.raw[i]
            if self.opts.lenient or not report.errors or steps.stage_after_error:
                steps.stage(self, chunk, values, keep)
            bar.update(chunk)
        bar.close()

    def _refused(self, exc: InvalidInput) -> None:
        """The whole file is refused: its batch row and report say why."""
        report = self.report
        report.status = "rejected"
        report.add(None, exc.details.get("field"), exc.message)
        if self.path.is_file() and not self.opts.dry_run:
            digest = self.digest or batch.sha256(self.path)
            batch.record_refusal(
                self.engine, self.layer, self.path, digest, self.opts, report
            )
        if self.report_path is not None:
            report.outputs = report.write(self.report_path)

    def _finish(self) -> Report:
        report = self.report
        if report.status == "rejected":
            batch.record_refusal(self.engine, self.layer, self.path, self.digest,
                                 self.opts, report)  # fmt: skip
        if self.report_path is not None:
            report.outputs = report.write(self.report_path)
            if self.opts.lenient and self.bad_rows:
                report.outputs.append(write_quarantine(
                    self.source, self.bad_rows, Path(self.report_path)
                ))  # fmt: skip
        return report


class Progress:
    """A bar on stderr: by bytes for CSV files, else by rows (of a known
    total when the format says it).  Shown only when asked, and by default
    (``progress=None``) only when stderr is a terminal."""

    def __init__(self, opts: batch.Options, source: Source, unit: str = " rows"):
        from tqdm import tqdm

        show = sys.stderr.isatty() if opts.progress is None else opts.progress
        self.bytes = source.format == "csv"
        total = source.path.stat().st_size if self.bytes else source.count_hint()
        self.bar = tqdm(
            total=total, disable=not show, desc=source.path.name, leave=False,
            unit="B" if self.bytes else unit, unit_scale=self.bytes,
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
