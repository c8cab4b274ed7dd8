"""Command-line interface: each command parses its options and calls one function.

Exit status 0 on success; 1 with a clear message on a known error; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import logging
import sys
from pathlib import Path

from gis import access, catalog, config, db, embedded, schema
from gis.errors import InvalidInput, PinganError

logger = logging.getLogger(__name__)

# Unknown layers are refused by the import and export with the catalog's
# message (exit 1), not by argparse choices (exit 2 and an English list).
_LAYERS_HELP = " | ".join(f"{n} ({t})" for n, t in catalog.titles().items())


def _db(args: argparse.Namespace) -> int:
    if config.database_url_from_env() and args.action != "url":
        print(
            "DATABASE_URL 已设置，不使用内置数据库 / DATABASE_URL is set; the "
            "embedded cluster is not used",
            file=sys.stderr,
        )
        return 1
    if args.action == "url":
        # libpq form, usable by psql, QGIS and pg_dump as well as by us.
        print(db.database_url().replace("postgresql+psycopg2://", "postgresql://", 1))
        return 0
    action = {
        "start": embedded.start,
        "stop": embedded.stop,
        "status": embedded.status,
    }[args.action]
    state = action()
    state["url"] = db.database_url()
    words = "运行中 running" if state["running"] else "未运行 stopped"
    print(f"内置数据库 embedded PostgreSQL: {words}")
    for key in ("location", "port", "pid", "url", "log"):
        if state.get(key) is not None:
            print(f"  {key:9s} {state[key]}")
    if args.action == "status" and not state["running"]:
        return 3  # like pg_ctl status: scripts can test "is it running?"
    return 0


def _engine(args: argparse.Namespace, ready: bool = True):
    """The database's engine; with ``ready``, refuse (SchemaNotReady, saying
    what to run) a database without this release's schema."""
    engine = db.get_engine(db.database_url(start_embedded=True))
    if ready:
        schema.require_current(engine)
    return engine


def _init(args: argparse.Namespace) -> int:
    engine = _engine(args, ready=False)
    applied = schema.migrate(engine)
    version = schema.current_version(engine)
    if applied:
        print(
            f"数据库结构已升级 / schema migrated: applied {applied}, now at {version}"
        )
    else:
        print(f"数据库结构已是最新 / schema up to date at version {version}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gis import demo  # heavy imports only when the command needs them

    engine = _engine(args, ready=False)
    schema.migrate(engine)
    if args.county:
        return _demo_county(args, engine)
    counts = demo.load(
        engine,
        seed=args.seed,
        incidents=5000 if args.incidents is None else args.incidents,
        cameras=4000 if args.cameras is None else args.cameras,
        progress=sys.stderr.isatty(),
    )
    print("演示数据已加载 / demo loaded (synthetic, except the district outline):")
    print(json.dumps(counts, ensure_ascii=False, indent=2))
    _demo_accounts(engine)
    return 0


def _demo_county(args: argparse.Namespace, engine) -> int:
    from gis.demo import county, county_load

    columns, rows = args.county_size
    counts, seconds = county_load.load(
        engine,
        county.CountySpec(columns=columns, rows=rows),
        seed=args.seed,
        incidents=1_000_000 if args.incidents is None else args.incidents,
        cameras=4 * columns * rows if args.cameras is None else args.cameras,
        progress=sys.stderr.isatty(),
    )
    print(f"模拟县已加载 / synthetic county loaded ({columns} x {rows} villages):")
    print(county_load.describe(counts, seconds))
    _demo_accounts(engine)
    return 0


def _demo_accounts(engine) -> None:
    from gis.demo import accounts as demo_accounts

    with engine.begin() as conn:
        accounts = demo_accounts.ensure(conn)
    print(
        f"\n演示账号（密码随机生成，只在此显示；另存于 {demo_accounts.path()}，权限 "
        f"0600）/ demo accounts (random passwords, kept in that file):"
    )
    print(demo_accounts.format_table(accounts), end="")


def _assign(args: argparse.Namespace) -> int:
    from gis import assign

    changed = assign.assign(_engine(args))
    print(
        "重新分配 / re-assigned (rows whose village, grid, township or station "
        "changed):"
    )
    for table, count in changed.items():
        print(f"  {table:9s} {count}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from gis import ingest
    from gis.ingest import fields

    path = Path(args.path)
    report_path = Path(args.report) if args.report else path.with_suffix(".report.json")
    report = ingest.import_file(
        _engine(args),
        args.layer,
        path,
        report_path,
        crs=args.crs,
        encoding=args.encoding,
        layer_name=args.gpkg_layer,
        mapping=fields.parse_mapping(args.map),
        lenient=args.lenient,
        username=getpass.getuser(),
        progress=sys.stderr.isatty(),
        **({"valid_from": args.valid_from} if args.valid_from else {}),
    )
    for note in report.notes:
        print(f"注意 note: {note}", file=sys.stderr)
    for finding in report.errors[:20]:
        print(f"  第 {finding.row} 行 row {finding.row}  {finding.field or ''}  "
              f"{finding.reason}", file=sys.stderr)  # fmt: skip
    if len(report.errors) > 20:
        print(f"  … {len(report.errors) - 20} more in the report", file=sys.stderr)
    others = len(report.findings) - len(report.errors)
    if others:
        print(f"  另有 {others} 条修复/拓扑提示 / {others} repairs and topology "
              "warnings: see the report", file=sys.stderr)  # fmt: skip
    print(report.summary())
    print("报告 report: " + ", ".join(map(str, report.outputs)))
    return 0 if report.status == "loaded" else 1


def _import_dir(args: argparse.Namespace) -> int:
    from gis.ingest import folder

    result = folder.import_dir(
        _engine(args), args.directory, dry_run=args.dry_run, crs=args.crs,
        report_dir=args.report_dir or args.directory, encoding=args.encoding,
        lenient=args.lenient,
        username=getpass.getuser(), progress=sys.stderr.isatty(),
    )  # fmt: skip
    for line in result.lines():
        print(line)
    if args.report:
        print("报告 report: " + str(result.write(args.report)))
    return 0 if result.ok else 1


def _export(args: argparse.Namespace) -> int:
    from gis import export

    count = export.export_layer(
        _engine(args),
        args.layer,
        Path(args.path),
        encoding=args.encoding,
        at=args.at,
        username=getpass.getuser(),
        progress=sys.stderr.isatty(),
    )
    print(f"已导出 exported {count} features to {args.path}")
    return 0


def _gaps(args: argparse.Namespace) -> int:
    from gis import gaps, params

    thresholds = gaps.thresholds_from(vars(args))
    fmt = args.format or (Path(args.out).suffix.lstrip(".") if args.out else "json")
    if fmt not in gaps.FORMATS:
        raise InvalidInput(f"不支持的格式 / unsupported format {fmt!r}: json, csv "
                           "or xlsx", field="format")  # fmt: skip
    engine = _engine(args)
    gaps.keep(engine)
    with engine.connect() as conn:
        report = gaps.analyse(conn, args.role, params.parse_date(args.at), thresholds)
    if fmt == "xlsx":
        if not args.out:
            raise InvalidInput("xlsx 需要 --out / xlsx needs --out FILE", field="out")
        gaps.write_xlsx(report, args.out)
    else:
        text = (gaps.to_csv(report) if fmt == "csv"
                else json.dumps(report, ensure_ascii=False, indent=2))  # fmt: skip
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            print(text)
    if args.out:
        counts = {k: len(v) for k, v in report["findings"].items()}
        print(f"已写入 written {args.out}: {counts}", file=sys.stderr)
    return 0


def _overdue(args: argparse.Namespace) -> int:
    from gis import station

    with _engine(args).connect() as conn:
        found = station.overdue(conn, args.station)
        if args.xlsx:
            station.write_xlsx(None, found, args.xlsx)
            print(f"已写入 written {args.xlsx}: {len(found)} 件超期事件 overdue",
                  file=sys.stderr)  # fmt: skip
            return 0
    writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    writer.writerow([label for _, label in station.OVERDUE_COLUMNS])
    writer.writerows(station.overdue_rows(found))
    return 0


def _filter_args(args: argparse.Namespace) -> dict:
    """The leadership filters as the web takes them (gis.stats.Filters.parse)."""
    keys = ("from", "to", "month", "quarter", "category", "status", "risk",
            "township", "station")  # fmt: skip
    return {k: getattr(args, k.replace("from", "start"), None) for k in keys}


def _hotspots(args: argparse.Namespace) -> int:
    from gis import hotspots, stats

    filters = stats.Filters.parse(_filter_args(args))
    opts = hotspots.options({"size": args.size, "permutations": args.permutations,
                             "seed": args.seed})  # fmt: skip
    with _engine(args).connect() as conn:
        if args.emerging:
            report = hotspots.emerging(conn, filters, opts["size"])
        else:
            report = hotspots.hotspots(conn, filters, opts["size"],
                                       opts["permutations"], opts["seed"])  # fmt: skip
    text = json.dumps(report, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"已写入 written {args.out}: {report.get('summary')}", file=sys.stderr)
    else:
        print(text)
    return 0


def _counts(args: argparse.Namespace) -> int:
    from gis import stats

    with _engine(args).begin() as conn:
        kept = stats.rebuild(conn, population=True)
    print(f"已重建 rebuilt: {kept} count rows (squares and villages)")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    from gis import lookup, params

    with _engine(args).connect() as conn:
        answer = lookup.lookup(
            conn,
            args.lon,
            args.lat,
            crs=params.parse_crs(args.crs),
            at=params.parse_date(args.at),
        )
    print(lookup.to_json(answer))
    return 0


def _site(args: argparse.Namespace) -> int:
    import time

    from gis import siting

    options = ("new", "radius_m", "candidates", "model", "time_limit", "spacing_m")
    given = {name: getattr(args, name) for name in options}
    request = siting.parse_request({**given, "weight_disputes": args.weight_disputes})
    began = time.perf_counter()
    print(
        f"选址中 siting: {request.model}, {request.candidates}, radius "
        f"{request.radius_m:g} m …",
        file=sys.stderr,
    )
    with _engine(args).connect() as conn:
        report = siting.plan(conn, request)
    print(
        f"完成 done in {time.perf_counter() - began:.2f} s (build "
        f"{report.build_seconds:.2f} s, solve {report.solve_seconds:.2f} s): "
        f"{report.solution.status}",
        file=sys.stderr,
    )
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(siting.describe(report))
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        raise InvalidInput(
            "请用 --password 给出密码 / give the password with --password"
        )
    first = getpass.getpass("密码 password: ")
    if first != getpass.getpass("再输一次 again: "):
        raise InvalidInput("两次输入的密码不同 / the passwords differ")
    return first


def _user(args: argparse.Namespace) -> int:
    from gis import users

    with _engine(args).begin() as conn:
        if args.action == "add":
            user = users.add(
                conn,
                args.name,
                args.role,
                _password(args),
                station=args.station,
                grid=args.grid,
            )
            described = json.dumps(user.to_dict(), ensure_ascii=False)
            print(f"已添加用户 / user added: {described}")
        elif args.action == "passwd":
            users.set_password(conn, args.name, _password(args))
            print(f"已修改密码 / password changed: {args.name}")
        else:
            users.disable(conn, args.name)
            print(f"已停用 / disabled: {args.name}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from gis import users

    if args.action != "list" and not args.name:
        raise InvalidInput(f"token {args.action} 需要参数 / needs an argument")
    with _engine(args).begin() as conn:
        if args.action == "issue":
            if not args.role:
                raise InvalidInput("token issue 需要 --role / needs --role")
            token, token_id = users.issue_service_token(
                conn, args.name, args.role, args.days, args.station, args.grid
            )
            print(f"令牌 {token_id}（只显示这一次，请妥善保存）/ token {token_id} "
                  f"(shown once: keep it safe):\n{token}")  # fmt: skip
        elif args.action == "revoke":
            if not args.name.isdigit():
                raise InvalidInput(
                    f"令牌编号应为数字 / the token id is a number, got {args.name!r}"
                )
            users.revoke_token(conn, int(args.name))
            print(f"已吊销令牌 / token revoked: {args.name}")
        else:
            for row in users.tokens(conn):
                print(
                    f"{row['id']}\t{row['username']}\t{row['role']}\t"
                    f"{row['created_at']:%Y-%m-%d}\t{row['expires_at']:%Y-%m-%d}"
                )
    return 0


def _audit(args: argparse.Namespace) -> int:
    from gis import audit

    chosen = audit.filters(vars(args))
    with _engine(args).begin() as conn:
        if args.xlsx:
            count = audit.write_xlsx(
                conn, args.xlsx, getpass.getuser(), **chosen, limit=args.limit
            )
            print(f"已导出 exported {count} 条审计记录 audit rows to {args.xlsx}")
            return 0
        rows = audit.query(conn, **chosen, limit=args.limit or audit.DEFAULT_LIMIT)
        seen = {"filters": chosen, "rows": len(rows), "via": "cli"}
        audit.record(conn, getpass.getuser(), "audit.list", "audit_log", None, seen)
    if args.json:
        for row in rows:
            line = {**row, "at": row["at"].isoformat()}
            print(json.dumps(line, ensure_ascii=False, default=str))
        return 0
    _print_table([label for _, label in audit.COLUMNS], map(audit.cells, rows))
    n = len(rows)
    print(f"（{n} 条，最新的在前，北京时间 / {n} rows, newest first, Beijing time）")
    return 0


def _print_table(header: list[str], rows) -> None:
    """Columns padded to their widest cell; CJK characters count double."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    rows = [[cell or "-" for cell in row] for row in rows]
    # The last column (detail) is not padded: it may be long, and ends the line.
    widths = [max(map(width, column)) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = [c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)]
        print("  ".join(cells[:-1] + [row[-1]]))


def _serve(args: argparse.Namespace) -> int:
    # The one place gis reaches for the web layer: the CLI starts the server the
    # way users expect (`python -m gis serve`); library modules never import it.
    from webmap.server import serve

    if args.workers is not None and args.workers < 1:
        raise InvalidInput(f"--workers 至少为 1 / must be >= 1, got {args.workers}")
    try:
        _engine(args)
    except PinganError as exc:  # the server starts; /healthz says 503 meanwhile
        print(f"警告 warning: {exc.message}", file=sys.stderr)
    finally:
        db.dispose_engines()  # no connection of ours into the workers
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="python -m gis", description="平安网格 Pingan Grid"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("db", help="manage the embedded PostgreSQL + PostGIS")
    p.add_argument("action", choices=["start", "stop", "status", "url"])
    p.set_defaults(func=_db)

    p = sub.add_parser("init", help="create or upgrade the schema (idempotent)")
    p.set_defaults(func=_init)

    p = sub.add_parser(
        "demo", help="load the synthetic demo world in 华龙区 (or --county)"
    )
    p.add_argument("--seed", type=int, default=20240101)
    p.add_argument(
        "--incidents", type=_count, help="default 5000, or 1000000 with --county"
    )
    p.add_argument(
        "--cameras", type=_count, help="default 4000, or 4 a village with --county"
    )
    p.add_argument(
        "--county",
        action="store_true",
        help="the synthetic county of 10,000 villages instead (an empty database "
        "or an earlier county load only)",
    )
    p.add_argument(
        "--county-size",
        type=_size,
        default=(100, 100),
        metavar="COLSxROWS",
        help="villages across and down (default 100x100)",
    )
    p.set_defaults(func=_demo)

    p = sub.add_parser("assign", help="recompute every point's areas (set-based)")
    p.set_defaults(func=_assign)

    p = sub.add_parser("import", help="import a file into a layer (validated)")
    p.add_argument("layer", help=_LAYERS_HELP)
    p.add_argument("path", help="CSV, XLSX, GeoJSON, Shapefile (.shp/.zip), GeoPackage")
    p.add_argument("--crs", help="wgs84 | gcj02 | bd09 | EPSG:n (default: the file's)")
    p.add_argument("--encoding", help="text encoding (default: detected)")
    p.add_argument(
        "--layer", dest="gpkg_layer", help="GeoPackage layer or Excel worksheet to read"
    )
    p.add_argument("--map", action="append", metavar="TARGET=SOURCE",
                   help="which column holds a field, e.g. --map name=名称")  # fmt: skip
    p.add_argument("--lenient", action="store_true",
                   help="load the good rows, quarantine the bad ones")  # fmt: skip
    p.add_argument("--report", help="report file (default: PATH.report.json)")
    p.add_argument(
        "--valid-from",
        type=_date,
        metavar="YYYY-MM-DD",
        help="boundary layers: the day changed boundaries take effect "
        "(default: today for changes, since ever for new areas)",
    )
    p.set_defaults(func=_import)

    p = sub.add_parser(
        "import-dir", help="import a county's folder of files, parents first"
    )
    p.add_argument("directory", help="the folder: one file a layer, named after it")
    p.add_argument("--dry-run", action="store_true",
                   help="check every file (in order, as if loaded), write nothing")
    p.add_argument("--crs", help="for files that declare none (default: from the "
                   "file's name: 高德/gcj02, 百度/bd09; else WGS84)")
    p.add_argument("--encoding", help="text encoding (default: detected)")
    p.add_argument("--lenient", action="store_true",
                   help="load the good rows, quarantine the bad ones")
    p.add_argument("--report", help="the folder's summary report (JSON)")
    p.add_argument("--report-dir", help="where each file's report (and, lenient, "
                   "its quarantine) goes (default: beside the file, as "
                   "<file>.report.json)")
    p.set_defaults(func=_import_dir)

    p = sub.add_parser("export", help="export a layer to a file (re-importable)")
    p.add_argument("layer", help=_LAYERS_HELP)
    p.add_argument(
        "path",
        help="format from the extension: .geojson, .gpkg, .shp, .zip (zipped "
        "Shapefile), .csv, .xlsx",
    )
    p.add_argument(
        "--encoding",
        help="CSV: utf-8-sig (default, with a BOM for Excel), utf-8, gbk; "
        "Shapefile: utf-8 (default), gbk",
    )
    p.add_argument(
        "--at",
        metavar="YYYY-MM-DD",
        help="boundary layers: the generation in force on that day (default: "
        "the current one)",
    )
    p.set_defaults(func=_export)

    p = sub.add_parser("lookup", help="which areas, officers and post a point has")
    p.add_argument("lon", help="longitude (or easting for a projected --crs)")
    p.add_argument("lat", help="latitude (or northing)")
    p.add_argument("--crs", default="wgs84", help="wgs84 | gcj02 | bd09 | EPSG:n")
    p.add_argument("--at", default=None, help="boundaries in force on this date")
    p.set_defaults(func=_lookup)

    p = sub.add_parser("gaps", help="coverage gaps: 一村一警 and every other role")
    p.add_argument(
        "--role",
        help="a duty role code (police, auxiliary, grid_member, "
        "legal_adviser, mediator, ...); default every role held",
    )
    p.add_argument(
        "--format",
        choices=["json", "csv", "xlsx"],
        help="default: from --out's extension, else json",
    )
    p.add_argument("--out", help="write to this file (xlsx needs one)")
    p.add_argument("--at", metavar="YYYY-MM-DD", help="as on that day (default today)")
    p.add_argument(
        "--max-post-m",
        dest="max_post_m",
        help="farthest a village may be from a 警务室/工作站 (default 3000)",
    )
    p.add_argument(
        "--patrol-share",
        dest="patrol_share",
        help="least patrol team as a share of residents (default 0.01)",
    )
    p.add_argument(
        "--capacity",
        help="places per person, for every role "
        "(default: the role's, or the person's own)",
    )
    p.add_argument(
        "--norm", help="residents per person, for every role (default: the role's)"
    )
    p.add_argument(
        "--min-split-m2",
        dest="min_split_m2",
        help="least area (m²) in another station's jurisdiction that counts as "
        "a split (default 100: smaller slivers are digitising noise)",
    )
    p.set_defaults(func=_gaps)

    p = sub.add_parser(
        "overdue",
        help="a station's overdue incidents, most urgent first (督办清单)",
    )
    p.add_argument("--station", required=True, help="the police station's code")
    p.add_argument("--xlsx", metavar="FILE", help="write an Excel workbook")
    p.set_defaults(func=_overdue)

    p = sub.add_parser(
        "site",
        help="propose sites for new 警务工作站 (maximal or set covering, HiGHS)",
        description="新建警务工作站选址 / where new police workstations should go: "
        "villages by residents, existing posts kept, solved exactly by HiGHS",
    )
    p.add_argument(
        "--new",
        type=int,
        metavar="K",
        help="新建数量 new posts (mclp: required; lscp: optional upper bound)",
    )
    p.add_argument(
        "--radius-m",
        type=float,
        required=True,
        metavar="R",
        help="服务半径（米）coverage radius in metres, straight line",
    )
    p.add_argument(
        "--candidates",
        default="sites",
        help="候选点 sites (key sites, default) | grids (grid centres) | lattice",
    )
    p.add_argument(
        "--model",
        default="mclp",
        help="模型 mclp (maximal covering, default) | lscp (fewest posts to cover "
        "every village)",
    )
    p.add_argument(
        "--weight-disputes",
        action="store_true",
        help="按矛盾纠纷加权 weight villages by population * (1 + disputes / mean)",
    )
    p.add_argument(
        "--spacing-m",
        type=float,
        metavar="S",
        help="格点间距 lattice spacing in metres (default 500)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="求解时限 HiGHS time limit (default 10 s); a stop at the limit is "
        "reported as not optimal, with its gap",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_site)

    p = sub.add_parser(
        "hotspots",
        help="热点分析 Gi* hot and cold spots (or --emerging) of the incident counts",
    )
    _leadership_filters(p)
    p.add_argument(
        "--size", help="方格边长 square side in metres: 500, 1000 (default), 2000"
    )
    p.add_argument("--permutations", help="随机置换次数 (default 999)")
    p.add_argument("--seed", help="随机种子 (default 12345): same data, same answer")
    p.add_argument(
        "--emerging",
        action="store_true",
        help="新兴热点 emerging hot spot categories over the months",
    )
    p.add_argument("--out", help="write the GeoJSON here (default: stdout)")
    p.set_defaults(func=_hotspots)

    p = sub.add_parser("counts", help="the incident counts kept for leadership views")
    p.add_argument("action", choices=["rebuild"],
                   help="count every incident again, and spread residents over "
                   "the squares again")  # fmt: skip
    p.set_defaults(func=_counts)

    p = sub.add_parser("user", help="add a user, change a password, disable a user")
    p.add_argument("action", choices=["add", "passwd", "disable"])
    p.add_argument("name", help="user name (2-64 of A-Z a-z 0-9 _ . -)")
    p.add_argument("--role", choices=access.ROLES)
    p.add_argument("--station", help="police-station code (role station only)")
    p.add_argument("--grid", help="grid code (role grid_member only)")
    p.add_argument("--password", help="default: asked for on the terminal")
    p.set_defaults(func=_user)

    p = sub.add_parser(
        "token", help="API tokens of service accounts (12345 hotline, other systems)"
    )
    p.add_argument("action", choices=["issue", "revoke", "list"])
    p.add_argument(
        "name", nargs="?", help="issue: the service account; revoke: the token id"
    )
    p.add_argument("--role", choices=access.ROLES, help="issue: the account's role")
    p.add_argument("--station", help="police-station code (role station only)")
    p.add_argument("--grid", help="grid code (role grid_member only)")
    p.add_argument(
        "--days", type=float, default=365, help="issue: valid for N days (365)"
    )
    p.set_defaults(func=_token)

    p = sub.add_parser(
        "audit",
        help="read the audit log (who did what, when), newest first",
        description="审计日志 / the audit log, newest first, times in Beijing time",
    )
    p.add_argument("--user", help="only this user's rows (exact name)")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="from this ISO date or time on (2025-03-01, 2025-03-01T08:30); "
        "Beijing time unless it has an offset",
    )
    p.add_argument(
        "--until",
        metavar="DATE",
        help="before this ISO date or time (--until 2025-03-02 ends with 1 March)",
    )
    p.add_argument(
        "--action",
        help="an action or its first dotted parts: login matches login, "
        "login.failed and login.locked (not logout); incident matches "
        "incident.create, incident.list, ...",
    )
    p.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="at most N rows (default 100 on screen, all with --xlsx)",
    )
    p.add_argument(
        "--xlsx",
        metavar="FILE",
        help="write an Excel workbook (Chinese headers) instead of printing",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=_audit)

    p = sub.add_parser("serve", help="serve the web maps")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: $PORT or 5000")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: CPU cores + 1)",
    )
    p.set_defaults(func=_serve)
    return parser


def _leadership_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month")
    p.add_argument("--to", metavar="YYYY-MM", help="last month")
    p.add_argument("--month", metavar="YYYY-MM", help="one month")
    p.add_argument("--quarter", metavar="2025Q2", help="one quarter")
    p.add_argument("--category", help="codes, comma-separated, or dispute")
    p.add_argument("--status", help="codes, or open / done")
    p.add_argument("--risk", help="red, orange, yellow")
    p.add_argument("--township", metavar="CODE")
    p.add_argument("--station", metavar="CODE")


def _date(text: str):
    import datetime

    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _size(text: str) -> tuple[int, int]:
    try:
        columns, rows = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not COLSxROWS (e.g. 100x100): {text!r}"
        ) from None
    from gis.demo.county import CountySpec

    if columns < 1 or rows < 1:
        raise argparse.ArgumentTypeError(f"at least one village each way: {text!r}")
    try:
        CountySpec(columns=columns, rows=rows)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return columns, rows


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except PinganError as exc:
        print(f"错误 error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
