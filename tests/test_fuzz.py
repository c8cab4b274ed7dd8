"""No input is a 500: a bounded, seeded fuzz of every API route.

Every rule of ``app.url_map`` under ``/api/``, with every method it takes but
HEAD and OPTIONS, gets hostile input: wrong types where text or numbers belong,
NUL and lone surrogates, invalid UTF-8, a BOM, GBK and UTF-16 bytes, deep and
huge JSON, extreme dates and time-zone offsets, garbage coordinates in projected
CRSs, odd query strings and URL variables.  Each answer must be below 500, and
each 4xx JSON with ``error`` and ``message`` (and, for ``invalid_input``, the
field in ``details``).  One seed makes the same requests every run.

A route's cases: each hostile value once, in a rotating field; each field of a
body the view takes with every value of its kind (times for a time, numbers for
a number...); every CRS with absurd coordinates; raw bodies no serializer would
write; odd query strings; hostile URL variables; then random mixes of them all.

The world is one square around Puyang (WGS84), its district, township, police
station, village and grid at once; officer O and grid member M answer for it:

    lat 35.80 +-----------------+
              |    * post P     |
    lat 35.70 +-----------------+
           115.00            115.10
"""

from __future__ import annotations

import codecs
import json
import random
import re
import reprlib
import time
from datetime import datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from gis import db, users
from gis.crs import GCJ02_BOUNDS
from webmap import create_app

ADMIN, PASSWORD = "fuzz_admin", "correct-horse-1"
SEED = 20261202
ROUNDS = 25  # random mixes per route and method, after the fixed cases


# -- signing in: the one place to change when sign-in changes --------------------


def sign_in(client, engine) -> dict:
    """Headers of an admin's request: a new user, and a Bearer token for them."""
    with engine.begin() as conn:
        users.add(conn, ADMIN, "admin", PASSWORD, actor="test")
    response = client.post("/api/token", json={"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.json['token']}"}


# -- the world ----------------------------------------------------------------------

SQUARE = "SRID=4326;MULTIPOLYGON(((115 35.7,115.1 35.7,115.1 35.8,115 35.8,115 35.7)))"
AREAS = [  # kind, code, parent
    ("district", "410902000000", None),
    ("township", "410902001000", "410902000000"),
    ("police_station", "410902510000", "410902000000"),
    ("village", "410902001001", "410902001000"),
    ("grid", "410902001001001", "410902001001"),
]
PEOPLE = """
INSERT INTO post (code, name, kind, geom) VALUES
  ('P', '警务室', 'police_room', ST_SetSRID(ST_MakePoint(115.03, 35.76), 4326));
INSERT INTO officer (code, name, kind, post_id)
  SELECT 'O', '张警官', 'police', id FROM post WHERE code = 'P';
INSERT INTO officer_area (officer_id, area_id)
  SELECT o.id, a.id FROM officer o, area a
   WHERE o.code = 'O' AND a.code = '410902001001';
INSERT INTO grid_member (code, name) VALUES ('M', '李网格员');
INSERT INTO grid_member_area (member_id, area_id)
  SELECT m.id, a.id FROM grid_member m, area a
   WHERE m.code = 'M' AND a.code = '410902001001001';
"""


@pytest.fixture(scope="module")
def database(make_database) -> str:
    url = make_database()
    with db.get_engine(url).begin() as conn:
        for kind, code, parent in AREAS:
            conn.execute(
                sa.text(
                    "INSERT INTO area (kind, code, name, parent_id, geom) SELECT :k, "
                    ":c, :c, (SELECT id FROM area WHERE code = :p), "
                    "ST_GeomFromEWKT(:g)"
                ),
                {"k": kind, "c": code, "p": parent, "g": SQUARE},
            )
        conn.execute(sa.text(PEOPLE))
    return url


@pytest.fixture(scope="module")
def engine(database) -> sa.Engine:
    return db.get_engine(database)


@pytest.fixture(scope="module")
def client(database):
    return create_app({"DATABASE_URL": database, "TESTING": True}).test_client()


@pytest.fixture(scope="module")
def headers(client, engine) -> dict:
    return sign_in(client, engine)


@pytest.fixture(scope="module")
def handling(client, headers) -> list[str]:
    """Codes of incidents in ``handling``: a PATCH to resolve one reaches the
    parsing of ``resolved_level`` and ``resolved_at``."""
    codes = []
    for _ in range(4):
        body = BASES["incidents.create"]
        made = client.post("/api/incidents", json=body, headers=headers)
        assert made.status_code == 201, made.get_json()
        code = made.json["properties"]["code"]
        moved = client.patch(
            f"/api/incidents/{code}", json={"status": "handling"}, headers=headers
        )
        assert moved.status_code == 200, moved.get_json()
        codes.append(code)
    return codes


# -- hostile values -------------------------------------------------------------------

TIMES = """
2025-01-01T00:00:00+23:59  0001-01-01T00:00:00+14:00  9999-12-31T23:59:59-14:00
2025-01-01T00:00:00+15:59  2025-01-01T00:00:00-12:01  1949-09-30T23:59:59+08:00
1949-10-01T00:00:00+08:00  2999-01-01T00:00:00  0001-01-01  9999-12-31  2025-02-30
2025-01-01T24:00:00  2025-13-01  20250101T000000Z  2025-W01-1  -2025-01-01
2025-01-01T00:00:00.123456789Z  2025-01-01T08:00:00+08:00:30.5  now  昨天
""".split()
TIMES += ["2025-01-01 08:00:00", "2025-01-01T08:00:00 08:00", " 2025-01-01"]
CRS_NAMES = """
wgs84 gcj02 bd09 CGCS2000 EPSG:4547 EPSG:4526 EPSG:3857 EPSG:4214 EPSG:4978
EPSG:5773 EPSG:999999 EPSG:0000 epsg: ４５４７
""".split()
CRS_NAMES += ["EPSG:4547 ", "EPSG:" + "4" * 50]
NUMERIC_TEXT = """
NaN nan Infinity -Infinity 1e308 -1e308 1e999 0x10 1_000 ١٢٣ +5 -0 0.0
""".split()
NUMERIC_TEXT += ["9" * 5000, " 1 "]
UNUSABLE = ["\x00", "a\x00b", "\ud800", "x\udfff", "\udc80\ud800"]
ODD_TEXT = ["", " ", "\ufeff", "\u202e", "\r\n", "\t", "null", "true", "[]", "{}"]
INJECTIONS = ["'; DROP TABLE incident; --", "<script>alert(1)</script>", "%00", "../x"]
LONG_TEXT = ["x" * 100_000, "长" * 5000, "😀" * 1000, "ＡＢＣ"]
CODES = ["dispute_debt", "红色(重大风险)", "resolved", "village", "410902510000"]
TEXT = UNUSABLE + ODD_TEXT + INJECTIONS + LONG_TEXT + NUMERIC_TEXT + CODES

BIG_INTS = [2**31, 2**63, -(2**63) - 1, 10**400]
FLOATS = [1e308, -1e308, 5e-324, float("nan"), float("inf"), -float("inf"), -0.0]
NUMBERS = [None, True, False, 0, -1, *BIG_INTS, *FLOATS, 115.03, 35.76, 1e7]


def nested(depth: int, inner=1):
    for _ in range(depth):
        inner = [inner]
    return inner


FEATURES = {"type": "FeatureCollection", "features": [1, {"geometry": [1]}]}
CONTAINERS = [[], {}, [1, 2], ["a"], {"a": 1}, [None] * 3, {"$gt": ""}, FEATURES]
CONTAINERS += [[[115.03, 35.76]], {"lon": 115.03, "lat": 35.76}, nested(65)]
HUGE = [list(range(100_000)), [[115.03, 35.76]] * 10_001]
HUGE += [{str(i): i for i in range(10_000)}]
VALUES = TEXT + NUMBERS + CONTAINERS

COORDINATE_CRS = CRS_NAMES[:9]  # those that convert, one geocentric
COORDINATES = [(1e7, 1e7), (1e308, 1e308), (5e5, 3.958e6), (15_556_000, 4_257_000)]
COORDINATES += [(115.03, 35.76), (-1e308, 0), (100.0, 70.0)]

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=XX"
GBK = '{"description": "邻里纠纷", "lon": 115.03}'.encode("gbk")
UTF16 = '{"lon": 115.03, "lat": 35.76}'.encode("utf-16")
NUL_PART = (
    b'--XX\r\nContent-Disposition: form-data; name="a\x00"; filename="\x00.csv"'
    b"\r\n\r\nx\r\n--XX--\r\n"
)
RAW_BODIES = [  # what no serializer would write
    *[(body, JSON) for body in (b"", b"null", b"NaN", b"1e999", b"-", b"{")],
    (b"\xff\xfe\xfd", JSON),
    (b'{"a": "\xc3"}', JSON),  # a truncated UTF-8 sequence
    (codecs.BOM_UTF8 + b'{"lon": 115.03, "lat": 35.76}', JSON),
    (GBK, JSON),
    (GBK, JSON + "; charset=gbk"),
    (UTF16, JSON),
    (UTF16.decode("utf-16").encode("utf-32-le"), JSON),
    (b'{"description": "a\x00b"}', JSON),  # a raw control character
    (b'{"description": "\xed\xa0\x80"}', JSON),  # a surrogate, encoded
    (b'{"\xed\xb0\x80": 1}', JSON),
    (b"[" * 100_000 + b"]" * 100_000, JSON),
    (b"[" * 65 + b"]" * 65, JSON),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, JSON),
    (b"1" * 5000, JSON),  # more digits than int() reads
    (b'{"lon": 1' + b"0" * 400 + b"}", JSON),
    (b'{"lon": 115.03, "lon": [1]}', JSON),
    (b"username=%00&password=%ff", FORM),
    (b"lon=115.03&lat=35.76&category=dispute_debt", FORM),
    (b"%%%&&==", FORM),
    (NUL_PART, MULTIPART),
    (b"--XX\r\nbroken", MULTIPART),
    (b"garbage", "multipart/form-data"),  # no boundary
    (b'{"lon": 115.03}', "text/plain"),
    (b'{"lon": 115.03}', "application/geo+json"),
    (b"<xml/>", "application/xml"),
]
RAW_QUERIES = """
%ff%fe  %00=%00  a=%ED%A0%80  &&&==  lon=1&lon=2&lon=3  =  x=%C0%AF
limit=10000&offset=1000000000  since=2024-03-02T09:00:00+08:00  %E4%B8%AD=%E4%B8%AD
lon=115.03&lat=35.76&crs=EPSG%3A4547
""".split()
RAW_QUERIES += ["a" * 10_000 + "=1"]
AUTH_VARIANTS = [None, "Bearer ", "Bearer " + "A" * 5000, "Basic Zm9vOmJhcg=="]
AUTH_VARIANTS += ["Bearer ä"]

BASES = {  # a body each view takes, for its fields to be spoiled one at a time
    "incidents.create": {
        "lon": 115.03,
        "lat": 35.76,
        "crs": "wgs84",
        "category": "dispute_debt",
        "risk": "red",
        "description": "楼上漏水",
        "source": "12345热线",
        "reported_at": "2025-01-01T08:00:00",
    },
    "incidents.update": {  # resolved before it was reported: stays in handling
        "status": "resolved",
        "resolved_level": "village",
        "resolved_at": "2024-12-31T08:00:00",
        "note": "调解成功",
    },
    "api.lookup_batch": {
        "points": [[115.03, 35.76], {"lon": 115.05, "lat": 35.75}],
        "crs": "wgs84",
        "at": "2025-01-01",
    },
    "auth.token": {"username": ADMIN, "password": PASSWORD},
}
FALLBACK_BASE = {"lon": 115.03, "lat": 35.76, "crs": "wgs84", "code": "X", "q": "x"}
QUERY_BASES = {
    "api.lookup_one": {"lon": 115.03, "lat": 35.76, "crs": "wgs84", "at": "2025-01-01"},
    "incidents.list_incidents": {
        "status": "received",
        "risk": "red",
        "category": "dispute_debt",
        "station": "410902510000",
        "since": "2024-01-01",
        "until": "2026-01-01",
        "limit": 10,
        "offset": 0,
        "overdue": "0",
    },
}
QUERY_NAMES = """
lon lat crs at status risk category station since until limit offset overdue points
code bbox format
""".split()
WHOLE = "<the whole body>"  # in place of a field name


def of_its_kind(field: str, value) -> list:
    """The hostile values for a field that takes things like ``value``."""
    if field == "crs":
        return CRS_NAMES + NUMBERS[:6]
    if isinstance(value, (int, float)):
        return NUMBERS + NUMERIC_TEXT + CONTAINERS[:5]
    if isinstance(value, str) and _is_time(value):
        return TIMES + NUMBERS[:6] + CONTAINERS[:5]
    return UNUSABLE + ODD_TEXT[:4] + LONG_TEXT[:1] + NUMBERS[:4] + CONTAINERS[:5]


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# -- requests -------------------------------------------------------------------------


def encode(value) -> bytes:
    """JSON as a client may send it: surrogates escaped, NaN and huge ints kept."""
    return json.dumps(value, ensure_ascii=True).encode()


def query_string(pairs: dict) -> str:
    def text(value) -> bytes:
        if not isinstance(value, str):  # a query string holds text only
            value = json.dumps(value)
        return value.encode("utf-8", "surrogatepass")

    return "&".join(
        f"{quote(text(k), safe='')}={quote(text(v), safe='')}" for k, v in pairs.items()
    )


class Route:
    """One rule and method of the API, and how to ask it things."""

    def __init__(self, rule, method: str):
        self.rule, self.method = rule, method
        self.has_body = method in ("POST", "PUT", "PATCH", "DELETE")
        if self.has_body:
            self.base = BASES.get(rule.endpoint, FALLBACK_BASE)
        else:
            self.base = QUERY_BASES.get(rule.endpoint, {})

    def __repr__(self) -> str:
        return f"{self.method} {self.rule.rule}"

    def fields(self) -> list:
        extra = [WHOLE, "unknown_field"] if self.has_body else QUERY_NAMES
        return [*self.base, *extra]

    def path(self, variables: dict) -> str:
        """The rule with its variables (``<code>``, ``<int:id>``) filled in."""

        def fill(match) -> str:
            value = str(variables[match.group(1)])
            return quote(value.encode("utf-8", "surrogatepass"), safe="")

        path = re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", fill, self.rule.rule)
        assert "<" not in path, self.rule.rule  # a variable we cannot fill
        return path

    def request(self, variables: dict, body, query: dict | None = None) -> dict:
        """``client.open`` arguments: ``body`` as JSON, or as the query string."""
        if not self.has_body:
            body = body if isinstance(body, dict) else {"q": body}
            return {
                "path": f"{self.path(variables)}?{query_string(body | (query or {}))}"
            }
        path = self.path(variables)
        if query:
            path = f"{path}?{query_string(query)}"
        return {"path": path, "data": encode(body), "content_type": JSON}

    def spoiled(self, variables: dict, field: str, value) -> dict:
        """The base body (or query) with ``field`` set to ``value``."""
        body = value if field == WHOLE else {**self.base, field: value}
        return self.request(variables, body)


def requests_for(route: Route, rng: random.Random, codes: list[str]):
    """Keyword arguments for ``client.open``: the fixed cases, then random ones."""
    variables = {name: rng.choice(codes) for name in route.rule.arguments}
    fields = route.fields()
    for i, value in enumerate(VALUES):  # every value once, in a rotating field
        yield route.spoiled(variables, fields[i % len(fields)], value)
    for field, value in route.base.items():  # every field with its own kind
        for hostile in of_its_kind(field, value):
            yield route.spoiled(variables, field, hostile)
    yield from _coordinates(route, variables)
    yield from _raw(route, variables)
    for name in route.rule.arguments:
        for value in TEXT[:30] + TIMES[:3]:
            yield route.request({**variables, name: value}, route.base)
    for _ in range(ROUNDS):
        yield _random(route, rng, codes, fields)


def _coordinates(route: Route, variables: dict):
    """Every CRS with absurd coordinates, where the route takes coordinates."""
    for crs in COORDINATE_CRS:
        for lon, lat in COORDINATES:
            if "points" in route.base:
                body = {**route.base, "points": [[lon, lat]], "crs": crs}
            elif "lon" in route.base:
                body = {**route.base, "lon": lon, "lat": lat, "crs": crs}
            else:
                return
            yield route.request(variables, body)


def _raw(route: Route, variables: dict):
    """Bodies no serializer would write, and odd query strings."""
    path = route.path(variables)
    if route.has_body:
        for value in HUGE:
            yield route.spoiled(variables, WHOLE, value)
            yield route.spoiled(variables, route.fields()[0], value)
        for data, content_type in RAW_BODIES:
            yield {"path": path, "data": data, "content_type": content_type}
    for raw in RAW_QUERIES:
        yield {**route.request(variables, route.base), "path": f"{path}?{raw}"}


def _random(route: Route, rng: random.Random, codes: list[str], fields) -> dict:
    """Up to three fields spoiled at once, perhaps with extra query parameters,
    a hostile URL variable, a BOM, raw surrogate bytes or a bad Authorization."""
    names = route.rule.arguments
    variables = {name: rng.choice(codes + TEXT[:30]) for name in names}
    body = route.base
    for _ in range(rng.randint(1, 3)):
        field, value = rng.choice(fields), rng.choice(VALUES)
        if field == WHOLE or not isinstance(body, dict):
            body = value
        else:
            body = {**body, field: value}
    extra = {
        rng.choice(QUERY_NAMES): rng.choice(TEXT) for _ in range(rng.randint(0, 2))
    }
    request = route.request(variables, body, extra)
    if route.has_body and rng.random() < 0.2:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        request["data"] = rng.choice([codecs.BOM_UTF8 + raw, raw])
    if rng.random() < 0.1:
        request["auth"] = rng.choice(AUTH_VARIANTS)
    return request


# -- the contract ---------------------------------------------------------------------


def broken(response) -> str | None:
    """How a response breaks the contract, or None."""
    status = response.status_code
    if status >= 500:
        return f"status {status}: {response.get_data(as_text=True)[:200]}"
    if status < 400:
        return None
    body = response.get_json(silent=True) if response.is_json else None
    if not isinstance(body, dict):
        return f"{status} is not a JSON object ({response.mimetype})"
    if not (isinstance(body.get("error"), str) and body.get("message")):
        return f"{status} without error and message: {body}"
    details = body.get("details") or {}
    if body["error"] == "invalid_input" and not details.get("field"):
        return f"400 invalid_input names no field: {body['message']}"
    return None


def ask(client, route: Route, request: dict, headers: dict) -> str | None:
    """Send one request; how its answer breaks the contract, or None."""
    auth = request.pop("auth", headers.get("Authorization"))
    try:
        response = client.open(
            method=route.method,
            headers={"Authorization": auth} if auth else {},
            **request,
        )
    except Exception as exc:  # TESTING propagates what would be a 500
        return f"raised {type(exc).__name__}: {exc}"[:300]
    return broken(response)


def api_routes(app) -> list[Route]:
    routes = [
        Route(rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(routes, key=repr)


def test_no_input_is_a_500(client, headers, handling, engine):
    rng = random.Random(SEED)
    routes = api_routes(client.application)
    assert len(routes) >= 7, routes  # lookup x2, token, incidents x4
    shown = reprlib.Repr()
    shown.maxstring = shown.maxother = 120
    failures, asked, started = {}, dict.fromkeys(map(repr, routes), 0), time.monotonic()
    for route in routes:
        for request in requests_for(route, rng, handling):
            asked[repr(route)] += 1
            problem = ask(client, route, request, headers)
            if problem:  # how often each kind of failure, and one example
                key = (repr(route), problem[:70])
                n, example = failures.get(
                    key, (0, f"{problem}\n    {shown.repr(request)}")
                )
                failures[key] = (n + 1, example)
    elapsed = time.monotonic() - started
    print(f"fuzz: {sum(asked.values())} requests in {elapsed:.1f} s: {asked}")
    assert not failures, "broken answers:\n" + "\n".join(
        f"{n} x {route}: {example}" for (route, _), (n, example) in failures.items()
    )
    assert all(asked.values()), asked  # nothing skipped
    assert_nothing_absurd_was_stored(engine)


def assert_nothing_absurd_was_stored(engine) -> None:
    """What the fuzz got accepted is still what a county can have."""
    west, south, east, north = GCJ02_BOUNDS
    with engine.connect() as conn:
        stored, absurd = conn.execute(
            sa.text("""
                SELECT count(*), count(*) FILTER (WHERE
                       reported_at < '1949-10-01T00:00:00+08:00'
                    OR reported_at > now() + interval '5 minutes'
                    OR resolved_at < reported_at
                    OR resolved_at > now() + interval '5 minutes'
                    OR NOT ST_Within(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)))
                  FROM incident"""),
            {"w": west, "s": south, "e": east, "n": north},
        ).one()
    assert stored > 4 and absurd == 0, (stored, absurd)  # some made, none absurd
