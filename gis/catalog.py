"""One description of every data layer: the catalog.

Each layer a person can import, export or see on a map is described here once
(:class:`DataLayer`): its table and geometry, its properties (:class:`Property`:
type, Chinese label, enumeration, whether personal, whether shown in popups,
the column names an import recognises, whether required, limits), its time
field, the row policy's scope keys and its Chinese title.  The import field
tables (:mod:`gis.ingest.fields`, :mod:`gis.ingest.points`), export
(:mod:`gis.export`), the map layers' popups (:mod:`gis.layers`), the upload
page and the CLI read it, so adding a column to a layer touches this module and
a migration only::

    Property("height_m", "float", "高度(米)", synonyms=("高度",), popup=True,
             low=0, high=100)

Enumerations (code → Chinese label) live in :mod:`gis.vocab` and are named
here; ``tests/test_catalog.py`` checks every stored property and enumeration
against the live schema (columns and CHECK constraints).

Consumers look layers up at call time (:func:`get`), so a test may put a
changed entry in :data:`LAYERS` (:meth:`DataLayer.with_property`) and see it
everywhere.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from gis import vocab
from gis.errors import InvalidInput

logger = logging.getLogger(__name__)

KINDS = ("text", "int", "float", "angle", "time", "date", "choice")
"""Property types: ``angle`` is a longitude or latitude in degrees (parsed from
degrees, minutes and seconds too), ``time`` a timestamp with time zone,
``choice`` a code of :attr:`Property.choices`."""


@dataclass(frozen=True)
class Property:
    """One property of a data layer.

    Parameters
    ----------
    name : str
        The canonical name: the column of the layer's table when ``stored``,
        the column name exports write and imports recognise first.
    kind : str
        One of :data:`KINDS`.
    label : str
        Chinese label, for popups.
    choices : dict, optional
        ``choice`` only: stored code → Chinese label (from :mod:`gis.vocab`).
    personal : bool
        Names of people, phone numbers, descriptions: never for the leader role.
    popup : bool
        Shown in the map layer's popups.
    synonyms : tuple of str
        Other column names an import recognises (Chinese first: the first is
        the label the import preview shows).
    required : bool
        An import refuses a file without it, and a row with it empty.
    low, high : float, optional
        Numbers: the range an import accepts.
    stored : bool
        A column of the layer's table of this very name.  Otherwise derived
        (``lon``/``lat`` and ``wkt`` from the geometry, ``parent`` from
        ``parent_id``...): the import and export say how.
    imported, exported : bool
        Whether the import reads it and the export writes it.
    default : object, optional
        What an import writes when the file has no such column (the schema's
        default or rule, as the importer must state it).
    """

    name: str
    kind: str = "text"
    label: str = ""
    choices: dict | None = None
    personal: bool = False
    popup: bool = False
    synonyms: tuple[str, ...] = ()
    required: bool = False
    low: float | None = None
    high: float | None = None
    stored: bool = True
    imported: bool = True
    exported: bool = True
    default: object = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(
                f"property {self.name!r}: kind must be one of {', '.join(KINDS)}, "
                f"got {self.kind!r}"
            )
        if (self.kind == "choice") != (self.choices is not None):
            raise ValueError(
                f"property {self.name!r}: choices go with kind 'choice', and only "
                "with it"
            )


@dataclass(frozen=True)
class DataLayer:
    """One data layer: a table (or the boundaries of one ``area.kind``).

    Parameters
    ----------
    name : str
        The layer's name in the CLI, URLs and files (``cameras``).
    title : str
        Chinese title: map layer control, upload page, import report.
    table : str
        The table it is stored in.
    geometry : str or None
        ``Point``, ``MultiPolygon`` or None (a table without geometry).
    properties : tuple of Property
        In the order exports write them.
    area_kind : str, optional
        Boundary layers: the ``area.kind`` of their rows.
    time_field : str, optional
        The property that says when a row happened or was last seen.
    scope : str
        How the row policy (migration 0011, ``pingan_sees(station, grid)``)
        decides who sees a row; documentation, the rule itself is SQL.
    internal : tuple of str
        Columns of the table that are no property: keys, assignment ids,
        bookkeeping (``tests/test_catalog.py`` holds the table to both lists).
    popup_order : tuple of str
        Order of the popup rows: property names, and the assigned areas'
        names (``village_name``...; labels in ``popup_labels``).  Popup
        properties it does not name follow in property order.
    popup_labels : dict
        Labels of popup rows that are not properties (the areas a point was
        assigned to, an area's parent).
    subjects : tuple of str
        What clerks call one row, as they prefix its columns (村代码,
        事件类型, 警务室名称): the import recognises a property's names
        behind any of these.
    parent_subjects : tuple of str
        What they call the parent: 乡镇代码, 所属乡镇 or 乡镇名称 in a village
        sheet is its ``parent`` (by code or by name).
    """

    name: str
    title: str
    table: str
    geometry: str | None
    properties: tuple[Property, ...]
    area_kind: str | None = None
    time_field: str | None = None
    scope: str = ""
    internal: tuple[str, ...] = ()
    popup_order: tuple[str, ...] = ()
    popup_labels: dict = dataclasses.field(default_factory=dict)
    subjects: tuple[str, ...] = ()
    parent_subjects: tuple[str, ...] = ()

    def prop(self, name: str) -> Property:
        """The property called ``name``; KeyError names the known ones."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(
            f"{self.name} has no property {name!r}; it has "
            f"{', '.join(p.name for p in self.properties)}"
        )

    @property
    def stored(self) -> tuple[Property, ...]:
        """The properties that are columns of :attr:`table`."""
        return tuple(p for p in self.properties if p.stored)

    @property
    def imported(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.imported)

    @property
    def exported(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.exported)

    @property
    def personal(self) -> bool:
        """Whether a row names or describes a person (never for leaders)."""
        return any(p.personal for p in self.properties)

    @property
    def choices(self) -> dict[str, dict]:
        """Property → enumeration, for every ``choice`` property."""
        return {p.name: p.choices for p in self.properties if p.choices}

    def popup(self) -> dict[str, str]:
        """Popup rows in order: property (or assigned area) → Chinese label."""
        shown = {p.name: p.label for p in self.properties if p.popup}
        rows = {}
        for name in self.popup_order:
            rows[name] = shown.pop(name) if name in shown else self.popup_labels[name]
        return {**rows, **shown}

    def with_property(self, prop: Property, after: str | None = None) -> DataLayer:
        """A copy with ``prop`` added (after the property ``after``, else before
        the geometry's ``lon``/``lat``/``wkt``, else at the end)."""
        props = list(self.properties)
        if after is not None:
            at = props.index(self.prop(after)) + 1
        else:
            tail = [i for i, p in enumerate(props) if p.name in GEOMETRY_TEXT]
            at = tail[0] if tail else len(props)
        props.insert(at, prop)
        return dataclasses.replace(self, properties=tuple(props))


GEOMETRY_TEXT = ("lon", "lat", "wkt")
"""Derived properties that carry the geometry in table formats (CSV, XLSX)."""

# Column names imports recognise, by property name.  Shapefile names (10
# bytes): ours (gis.export.SHAPEFILE_NAMES) and GDAL's own truncations.
_SYNONYMS = {
    "code": ("编码", "代码", "编号", "区划代码", "行政区划代码", "统计用区划代码",
             "区划编码", "警号", "id", "code"),
    "name": ("名称", "名字", "姓名", "村名", "标准名称", "name"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x", "x坐标", "东经"),
    "lat": ("纬度", "lat", "latitude", "y", "y坐标", "北纬"),
    "parent": ("上级编码", "上级代码", "所属编码", "上级区划代码", "上级", "parent",
               "parent_code"),
    "population": ("人口", "人口数", "常住人口", "population"),
    "households": ("户数", "户籍户数", "households"),
    "kind": ("类型", "种类", "类别", "专兼职", "kind", "type"),
    "subkind": ("类型", "村社类型", "subkind", "type"),
    "status": ("状态", "处置状态", "办理状态", "化解状态", "办结状态", "status"),
    "category": ("事件类型", "纠纷类型", "类别", "类型", "category"),
    "risk": ("风险等级", "风险", "risk"),
    "reported_at": ("上报时间", "报告时间", "发生时间", "受理时间", "登记时间", "时间",
                    "发生日期", "reported_at", "time", "report_at", "reported_a"),
    "resolved_at": ("化解时间", "办结时间", "结案时间", "化解日期", "办结日期",
                    "resolved_at", "resolve_at", "resolved_a"),
    "resolved_level": ("化解层级", "化解级别", "resolved_level", "res_level",
                       "resolved_l"),
    "source": ("来源", "source"),
    "description": ("描述", "内容", "事件描述", "简要情况", "事由", "内容摘要",
                    "description", "descript", "descriptio"),
    "azimuth": ("方位角", "朝向", "azimuth"),
    "fov": ("视场角", "视角", "fov"),
    "range_m": ("覆盖距离", "可视距离", "距离", "range", "range_m"),
    "owner": ("权属", "建设单位", "owner"),
    "last_seen_at": ("最后在线时间", "last_seen_at", "last_seen", "last_seen_"),
    "staff": ("人数", "警力", "staff"),
    "address": ("地址", "详细地址", "位置", "所在地", "地点", "address"),
    "phone": ("电话", "联系电话", "phone"),
    "post": ("警务室编码", "所属警务室", "post", "post_code"),
    "areas": ("负责村社", "负责区域", "负责网格", "负责村社/网格", "areas"),
    "role": ("角色", "职责", "身份", "类型", "role"),
    "office": ("办公地点", "办公场所", "所在单位", "office"),
    "capacity": ("负责上限", "负责村社上限", "capacity"),
    "wkt": ("wkt", "geometry", "geom", "几何", "边界", "shape"),
    "valid_from": ("生效日期", "启用日期", "valid_from"),
    "patrol_strength": ("巡逻队员数", "巡逻力量", "巡防队员", "巡逻队人数",
                        "patrol_strength", "patrol", "patrol_str"),
}  # fmt: skip


def _p(name: str, kind: str = "text", label: str = "", **extra) -> Property:
    """A property with the usual import synonyms of its name."""
    return Property(name, kind, label, synonyms=_SYNONYMS.get(name, ()), **extra)


def _choice(name: str, label: str, choices: dict, **extra) -> Property:
    return _p(name, "choice", label, choices=choices, **extra)


_LON = _p("lon", "angle", "经度", required=True, stored=False)
_LAT = _p("lat", "angle", "纬度", required=True, stored=False)
WORKFLOW_COLUMNS = (
    "assignee_officer_id", "assignee_member_id", "unit_kind", "unit_area_id",
    "unit_post_id", "routed_station_id", "handling_level", "supervised_at",
    "supervised_by", "supervision_note", "satisfaction",
)  # fmt: skip
_POINT_INTERNAL = ("id", "synthetic", "geom", "village_id", "grid_id",
                   "township_id", "station_id")  # fmt: skip
_ASSIGNED = {
    "village_name": "所在村/社区",
    "grid_name": "网格",
    "station_name": "所属派出所",
}
_AREA_INTERNAL = ("id", "kind", "parent_id", "valid_to", "synthetic", "source",
                  "geom", "created_at", "updated_at", "station_id", "derived",
                  "code_given")  # fmt: skip
_AREA_SCOPE = {
    "district": "every signed-in user (policy area_scope)",
    "township": "every signed-in user (policy area_scope)",
    "village": "area.station_id: the station holding a point on its surface "
    "(pingan_sees(station_id, NULL)); leaders see every boundary",
    "grid": "area.station_id and the grid itself (pingan_sees(station_id, id)); "
    "leaders see every boundary",
    "police_station": "a station user their own station (id = pingan_station()); "
    "leaders see every boundary",
}


def _boundaries(
    name, title, kind, code_label, extra=(), popup=(), labels=None, people="人口"
):
    """A boundary layer: rows of ``area`` of one kind."""
    shown = {"name", "code", *popup}
    props = (
        _p("code", label=code_label, required=True),
        _p("name", label="名称", required=True),
        _p("parent", label="上级编码", stored=False),
        _p("population", "int", people, low=0),
        _p("households", "int", "户数", low=0),
        *extra,
        _p("valid_from", "date", "生效日期"),
        _p("wkt", label="边界", required=True, stored=False),
    )
    props = tuple(dataclasses.replace(p, popup=p.name in shown) for p in props)
    return DataLayer(
        name, title, "area", "MultiPolygon", props, area_kind=kind,
        scope=_AREA_SCOPE[kind], internal=_AREA_INTERNAL,
        popup_order=("name", "code", *(labels or {})), popup_labels=labels or {},
    )  # fmt: skip


_SUBKIND = _choice("subkind", "类型", vocab.AREA_SUBKINDS)
_POINT_SCOPE = "its station_id and grid_id (pingan_sees(station_id, grid_id))"

_ALL = (
    _boundaries("districts", "区界", "district", "区划代码"),
    _boundaries("townships", "乡镇/街道", "township", "区划代码",
                (_SUBKIND, _p("patrol_strength", "int", "巡逻队员数", low=0)),
                ("population", "households")),
    _boundaries("villages", "村/社区", "village", "区划代码", (_SUBKIND,),
                ("population", "households"),
                {"parent_name": "所属乡镇/街道"}),
    _boundaries("grids", "网格", "grid", "网格编码", popup=("population",),
                labels={"parent_name": "所属村/社区"}),
    _boundaries("stations", "派出所辖区", "police_station", "机构代码",
                popup=("population",), people="辖区人口"),
    DataLayer(
        "posts", "警务室/工作站", "post", "Point",
        (
            _p("code", label="编号", required=True),
            _p("name", label="名称", required=True, popup=True),
            _choice("kind", "类型", vocab.POST_KINDS, required=True, popup=True),
            _p("staff", "int", "人员", low=0, popup=True),
            _p("address", label="地址"),
            _p("phone", label="电话", personal=True, popup=True),
            _LON, _LAT,
        ),
        scope=_POINT_SCOPE, internal=_POINT_INTERNAL,
        popup_labels=_ASSIGNED,
        popup_order=("name", "kind", "staff", "phone", "village_name",
                     "station_name"),
    ),
    DataLayer(
        "officers", "民警/辅警", "officer", None,
        (
            _p("code", label="警号", required=True),
            _p("name", label="姓名", required=True, personal=True),
            _choice("kind", "类型", vocab.OFFICER_KINDS, required=True),
            _p("post", label="所属警务室", stored=False),
            _p("phone", label="电话", personal=True),
            _p("areas", label="负责村社", stored=False),
        ),
        scope="the station and grid of their post, kept on the row (policy "
        "officer_scope); their areas through officer_area_scope",
        internal=("id", "post_id", "active", "synthetic", "post_station_id",
                  "post_grid_id"),
    ),
    # 网格员: one person a grid (or a few), the role grid_member of duty_role.
    DataLayer(
        "grid_members", "网格员", "grid_member", None,
        (
            _p("code", label="编号", required=True),
            _p("name", label="姓名", required=True, personal=True),
            _choice("kind", "专兼职", vocab.GRID_MEMBER_KINDS, default="full_time"),
            _p("phone", label="电话", personal=True),
            _p("areas", label="负责网格", required=True, stored=False),
        ),
        scope="the stations of the grids they answer for (policy "
        "grid_member_scope); their grids through grid_member_area_scope",
        internal=("id", "synthetic"),
    ),
    # Roles are rows of duty_role (a county adds its own), so role is text
    # here, checked against that table by the import (gis/ingest/people.py):
    # a choice would freeze the list a county may extend.
    DataLayer(
        "people", "法律顾问/调解员等责任人", "person", None,
        (
            _p("code", label="编号", required=True),
            _p("name", label="姓名", required=True, personal=True),
            _p("role", label="角色", required=True),
            _p("post", label="所属警务室编码", stored=False),
            _p("office", label="办公地点"),
            _p("phone", label="电话", personal=True),
            _p("capacity", "int", "负责上限", low=1),
            _p("areas", label="负责村社/网格", stored=False),
        ),
        scope="the station of their post, or of a place they answer for "
        "(policy person_scope); their areas through person_area_scope",
        internal=("id", "post_id", "active", "synthetic"),
    ),
    DataLayer(
        "cameras", "视频监控(雪亮工程)", "camera", "Point",
        (
            _p("code", label="编号", required=True, popup=True),
            _p("name", label="名称"),
            _choice("kind", "类型", vocab.CAMERA_KINDS, required=True, popup=True),
            _p("azimuth", "float", "方位角", low=0, high=360),
            _p("fov", "float", "视场角", low=1, high=360),
            _p("range_m", "float", "视距(米)", low=0.1, high=5000, popup=True,
               default=100.0),
            _choice("status", "状态", vocab.CAMERA_STATUSES, popup=True,
                    default="online"),
            _p("last_seen_at", "time", "最后在线", popup=True),
            _p("owner", label="权属"),
            _LON, _LAT,
        ),
        time_field="last_seen_at", scope=_POINT_SCOPE, internal=_POINT_INTERNAL,
        popup_labels=_ASSIGNED,
        popup_order=("code", "kind", "status", "range_m", "last_seen_at",
                     "village_name"),
    ),
    DataLayer(
        "sites", "重点场所", "site", "Point",
        (
            _p("code", label="编号", required=True, popup=True),
            _p("name", label="名称", required=True, popup=True),
            _choice("kind", "类型", vocab.SITE_KINDS, required=True, popup=True),
            _LON, _LAT,
        ),
        scope=_POINT_SCOPE, internal=_POINT_INTERNAL, popup_labels=_ASSIGNED,
        popup_order=("name", "kind", "code", "village_name"),
    ),
    DataLayer(
        "incidents", "矛盾纠纷/事件", "incident", "Point",
        (
            _p("code", label="编号", required=True, popup=True),
            _choice("category", "类别", vocab.INCIDENT_CATEGORIES, required=True,
                    popup=True),
            _choice("status", "状态", vocab.INCIDENT_STATUSES, popup=True,
                    default="received"),
            _choice("risk", "风险等级", vocab.RISK_TIERS, default="yellow"),
            _p("reported_at", "time", "上报时间", required=True, popup=True),
            _p("resolved_at", "time", "化解时间"),
            _choice("resolved_level", "化解层级", vocab.RESOLVED_LEVELS),
            _p("source", label="来源"),
            _p("description", label="描述", personal=True, popup=True),
            _LON, _LAT,
        ),
        time_field="reported_at", scope=_POINT_SCOPE,
        # The workflow's own state (migration 0016), kept by gis/incidents.py:
        # who holds it, routing, escalation, supervision, follow-up.
        internal=(*_POINT_INTERNAL, "created_at", "updated_at", "created_by",
                  *WORKFLOW_COLUMNS),
        popup_labels={"village_name": "村/社区", "grid_name": "网格",
                      "station_name": "派出所"},
        popup_order=("code", "category", "status", "reported_at", "village_name",
                     "grid_name", "station_name", "description"),
    ),
)  # fmt: skip

# What clerks prefix a layer's columns with (its own subject; 村代码), and what
# they call its parent (乡镇代码, 所属乡镇).  Longest first: 乡镇 before 乡.
_TOWNSHIP_WORDS = ("乡镇街道", "乡镇", "街道", "乡", "镇")
_VILLAGE_WORDS = ("村社区", "行政村", "村居", "村社", "社区", "村")
_COUNTY_WORDS = ("区县", "县区", "县市区", "区", "县")
_SUBJECTS = {
    "districts": (_COUNTY_WORDS, ("地市", "市")),
    "townships": (_TOWNSHIP_WORDS, _COUNTY_WORDS),
    "villages": (_VILLAGE_WORDS, _TOWNSHIP_WORDS),
    "grids": (("网格",), _VILLAGE_WORDS),
    "stations": (("派出所", "辖区"), ("公安分局", "分局", *_COUNTY_WORDS)),
    "posts": (("警务工作站", "警务室", "工作站", "驻点"), ()),
    "officers": (("民警", "辅警", "警员"), ()),
    "grid_members": (("网格员", "网格长"), ()),
    "people": (("责任人", "人员", "调解员", "法律顾问"), ()),
    "cameras": (("监控点位", "监控", "摄像机", "摄像头", "点位", "设备"), ()),
    "sites": (("重点场所", "场所", "单位"), ()),
    "incidents": (("矛盾纠纷", "事件", "案件", "纠纷", "警情"), ()),
}

LAYERS: dict[str, DataLayer] = {
    layer.name: dataclasses.replace(
        layer, subjects=_SUBJECTS[layer.name][0],
        parent_subjects=_SUBJECTS[layer.name][1],
    )
    for layer in _ALL
}  # fmt: skip
"""Every data layer by name, in the order the CLI and the upload page list them.
Read at call time: a test may replace an entry."""


def get(name: str) -> DataLayer:
    """The data layer called ``name``; :class:`InvalidInput` names the known ones."""
    try:
        return LAYERS[name]
    except KeyError:
        raise InvalidInput(
            f"未知图层 / unknown layer {name!r}; one of {', '.join(LAYERS)}",
            field="layer",
        ) from None


def names() -> tuple[str, ...]:
    """Every layer's name, in catalog order."""
    return tuple(LAYERS)


def titles() -> dict[str, str]:
    """Layer name → Chinese title, in catalog order."""
    return {name: layer.title for name, layer in LAYERS.items()}


def boundary_kinds() -> dict[str, str]:
    """Boundary layer name → its ``area.kind``."""
    return {n: layer.area_kind for n, layer in LAYERS.items() if layer.area_kind}


def synonyms() -> dict[str, tuple[str, ...]]:
    """Property name → the column names an import recognises for it, over
    every layer (a name means the same wherever it is used)."""
    out: dict[str, tuple[str, ...]] = {}
    for layer in LAYERS.values():
        for prop in layer.properties:
            known = out.get(prop.name, ())
            out[prop.name] = known + tuple(s for s in prop.synonyms if s not in known)
    return out
