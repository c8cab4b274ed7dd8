"""Compose Folium map pages from layers (no Flask here).

A page is a list of layer names from :data:`gis.layers.LAYERS` plus a title; the
map is fitted to the district (or to the user's station), gets a layer control and
a legend, and optionally a configured base map.  Without a base map no request
leaves the user's machine.

A page carries no data: each layer is an empty Folium feature group (so the
layer control switches it) that the page's script, ``pingan-map.js``, fills
from the layer endpoint (``webmap/layers.py``) for the view, whenever the map
stops moving.  The page's HTML is the same few kilobytes for a district and for
a county of 10,000 villages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import folium
import sqlalchemy as sa
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from gis import crs, layers
from gis.access import User
from gis.config import Basemap
from gis.errors import NotFound
from gis.layers import EVERYTHING, Scope  # noqa: F401  (re-exported for views)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """A map page: which layers, under which title."""

    name: str
    title: str
    layers: tuple[str, ...]


PAGES = {
    # Later layers draw on top: township lines over village lines over grids.
    "coverage": Page(
        "coverage",
        "网格与警力覆盖图",
        (
            "grids",
            "villages",
            "townships",
            "stations",
            "district",
            "posts",
            "sites",
            "cameras",
            "incidents",
        ),
    ),
    # Leadership: counts per square and hot spots, never single incidents.
    "heat": Page(
        "heat", "矛盾纠纷热力图", ("heat", "hotspots", "townships", "district")
    ),
    # 一村一警 gaps: villages coloured by the gaps of the chosen role, posts
    # with their radius, a side panel (webmap/static/pingan-gaps.js).
    "gaps": Page(
        "gaps",
        "一村一警覆盖缺口图",
        ("grids", "villages", "townships", "stations", "district", "posts"),
    ),
    # The station home and jurisdiction sheet (webmap/static/pingan-station.js).
    "station_home": Page(
        "station_home",
        "派出所工作台",
        ("grids", "villages", "stations", "posts", "cameras", "workload"),
    ),
    # The intake form's map: where a report lands (webmap/static/pingan-intake.js).
    "intake": Page(
        "intake",
        "事件受理",
        ("grids", "villages", "stations", "posts"),
    ),
    "station": Page(
        "station",
        "派出所辖区图",
        ("grids", "villages", "stations", "posts", "sites", "cameras", "incidents"),
    ),
}

MIN_ZOOM, MAX_ZOOM = layers.base.MIN_ZOOM, layers.base.MAX_ZOOM
FONT_STACK = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', "
    "'PingFang SC', 'WenQuanYi Micro Hei', sans-serif"
)

_LEGEND = Template("""
{% macro html(this, kwargs) %}
<details class="pa-legend" open>
  <summary class="pa-legend-title">图例</summary>
  {% for label, color, shape in this.entries %}
  <div><span class="pa-key pa-key-{{ shape|e }}" style="--c: {{ color|e }}"></span>
    {{- label|e }}</div>
  {% endfor %}
  {% if this.note %}<div class="pa-legend-note">{{ this.note|e }}</div>{% endif %}
</details>
{% endmacro %}
""")
_PAGE_CSS = """
body, .leaflet-container { font-family: %s; }
.pa-popup th { text-align: left; padding-right: 8px; white-space: nowrap; }
.pa-legend { position: fixed; bottom: 28px; right: 12px; z-index: 900;
  background: rgba(255, 255, 255, .92); padding: 8px 12px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .3); font-size: 12px; line-height: 1.6; }
.pa-legend-title { font-weight: bold; margin-bottom: 4px; cursor: pointer; }
.pa-legend:not([open]) .pa-legend-title { margin-bottom: 0; }
.pa-legend-note { margin-top: 4px; color: #a00; }
.pa-key { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: middle; border: 2px solid var(--c); box-sizing: border-box; }
.pa-key-dot { background: var(--c); border-radius: 50%%; }
.pa-links { position: fixed; top: 10px; left: 56px; z-index: 900; }
.pa-links a { display: inline-block; background: rgba(255, 255, 255, .92);
  padding: 4px 10px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0, 0, 0, .3);
  font-size: 13px; margin-right: 6px; text-decoration: none; color: #1f4e9c; }
.pa-key-cluster-circle, .pa-key-cluster-square, .pa-key-cluster-diamond {
  background: var(--c); border-color: #fff; box-shadow: 0 0 0 1px #666; }
.pa-key-cluster-circle { border-radius: 50%%; }
.pa-key-cluster-diamond { border-radius: 50%% 0; }
"""


class Legend(MacroElement):
    """A fixed legend box listing each layer's colours."""

    _template = _LEGEND

    def __init__(self, entries: list[tuple[str, str, str]], note: str = ""):
        super().__init__()
        self._name = "Legend"
        self.entries = entries
        self.note = note


def may_draw(layer: layers.Layer, user: User | None) -> bool:
    """Whether ``user`` gets ``layer`` at all: a leader gets no layer of single
    records (:attr:`Layer.personal`), only aggregates.  (What the other layers
    hold is the row policies' business, not this rule's.)"""
    return not (user is not None and user.role == "leader" and layer.personal)


def page_layers(page: Page, user: User | None = None) -> list[str]:
    """The layers of ``page`` drawn for ``user`` (see :func:`may_draw`)."""
    return [name for name in page.layers if may_draw(layers.get(name), user)]


def personal(page: Page, user: User | None) -> bool:
    """Whether ``page`` as drawn for ``user`` shows records of single people or
    incidents (a read the audit log records)."""
    return any(layers.get(name).personal for name in page_layers(page, user))


_START = Template("""
{% macro script(this, kwargs) %}
PinganMap.start({{ this._parent.get_name() }}, {{ this.config|tojson }}, {
{%- for name, group in this.groups %}
  {{ name|tojson }}: {{ group.get_name() }}{{ "," if not loop.last }}
{%- endfor %}
});
{% endmacro %}
""")


class ViewLayers(JSCSSMixin, MacroElement):
    """Starts ``pingan-map.js`` on the map: it fills each layer's feature group
    from the layer endpoint for the view (see the script's header).

    ``config``: ``api`` (the endpoint's URL), ``layers`` (each layer's
    :meth:`~gis.layers.base.Layer.client`), ``gcj`` (shift onto a GCJ-02 base
    map) and ``station`` (a station map's focus).
    """

    _template = _START
    # "pingan:" names our own static files (webmap.assets.localize).
    default_js = [("pingan-map.js", "pingan:pingan-map.js")]
    default_css = [("pingan-map.css", "pingan:pingan-map.css")]

    def __init__(self, config: dict, groups: list[tuple[str, folium.FeatureGroup]]):
        super().__init__()
        self._name = "ViewLayers"
        self.config = config
        self.groups = groups


def build(
    conn: sa.Connection,
    page: Page,
    scope: Scope = EVERYTHING,
    basemap: Basemap | None = None,
    user: User | None = None,
    api: str = "/api/layers",
    station_code: str | None = None,
    extra: tuple = (),
) -> folium.Map:
    """Build the Folium page shell for ``page``, focused on ``scope`` (one
    station, a grid member's grids, or the whole district) and drawn for
    ``user`` (see :func:`page_layers`); its layers are fetched from ``api``
    (``station_code``: the focused station's, as the station map shows);
    ``extra`` elements go on last (a page's own panel and script).
    What the connection may read is already limited by its row policies."""
    south, west, north, east = _extent(conn, scope)
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=11,
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    fmap.options.update(max_zoom=MAX_ZOOM, min_zoom=MIN_ZOOM, zoom_snap=0.25)
    gcj = False
    if basemap:
        folium.TileLayer(
            tiles=basemap.url,
            attr=basemap.attribution,
            name="底图",
            overlay=False,
            control=True,
        ).add_to(fmap)
        if basemap.crs == "gcj02":
            # The tiles are drawn in GCJ-02: the script moves our WGS84 layers
            # onto them, and here the frame.
            gcj = True
            (west, south), (east, north) = (
                crs.from_wgs84(west, south, "gcj02"),
                crs.from_wgs84(east, north, "gcj02"),
            )
    entries, groups, drawn = [], [], []
    for name in page_layers(page, user):
        layer = layers.get(name)
        show = True if scope.grid_ids and name == "grids" else layer.show
        group = folium.FeatureGroup(name=layer.title, show=show)
        group.add_to(fmap)
        groups.append((name, group))
        drawn.append(layer.client())
        entries += layer.legend()
    folium.LayerControl(collapsed=False).add_to(fmap)
    Legend(entries, note=_synthetic_note(conn)).add_to(fmap)
    config = {
        "api": api,
        "layers": drawn,
        "gcj": gcj,
        "station": station_code,
        # Fitted by the script without animation, before its first fetch: an
        # animated fit would end in a second round of fetches for nothing.
        "fit": [[south, west], [north, east]],
    }
    ViewLayers(config, groups).add_to(fmap)
    for element in extra:
        element.add_to(fmap)
    root = fmap.get_root()
    root.header.add_child(Element(f"<title>{page.title} - 平安网格</title>"))
    root.header.add_child(Element(f"<style>{_PAGE_CSS % FONT_STACK}</style>"))
    return fmap


def _extent(conn: sa.Connection, scope: Scope) -> tuple[float, float, float, float]:
    """(south, west, north, east) of the district, the focused station, or a
    grid member's grids."""
    row = conn.execute(
        sa.text(
            """SELECT ST_YMin(e), ST_XMin(e), ST_YMax(e), ST_XMax(e)
             FROM (SELECT ST_Extent(geom) AS e FROM area
                    WHERE valid_to IS NULL AND CASE
                          WHEN :grids THEN id = ANY(:grid_ids)
                          WHEN :station IS NULL THEN kind = 'district'
                          ELSE id = :station END) x"""
        ),
        {
            "station": scope.station_id,
            "grids": bool(scope.grid_ids),
            "grid_ids": list(scope.grid_ids),
        },
    ).one()
    if row[0] is None:
        raise NotFound(
            "没有区界数据，请先运行 `python -m gis demo` 或导入边界 / "
            "no district boundary loaded yet: run `python -m gis demo`"
        )
    return tuple(row)


def _synthetic_note(conn: sa.Connection) -> str:
    synthetic = conn.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM area WHERE synthetic)")
    ).scalar()
    return "演示数据：除区界外均为模拟生成" if synthetic else ""


_LINKS = Template("""
{% macro html(this, kwargs) %}
<nav class="pa-links">{% for label, url in this.links %}
  <a href="{{ url|e }}">{{ label|e }}</a>{% endfor %}
</nav>
{% endmacro %}
""")


class Links(MacroElement):
    """A few links to related pages, over the map's top left corner."""

    _template = _LINKS

    def __init__(self, links: list[tuple[str, str]]):
        super().__init__()
        self._name = "Links"
        self.links = links


_GAPS = Template("""
{% macro script(this, kwargs) %}
PinganGaps.start(paMap, {{ this.config|tojson }});
{% endmacro %}
""")


class GapsPanel(JSCSSMixin, MacroElement):
    """The gaps page's side panel and decorations (``pingan-gaps.js``): the
    summary, the ranked list, filters, downloads and siting runs, and the
    villages, grids and posts restyled by the chosen role's gaps.

    ``config``: ``urls`` (gaps, csv, xlsx, geojson, site, layers), ``csrf``,
    ``roles`` (``[{code, label}]``), ``thresholds`` (the defaults),
    ``can_site``, ``title``.
    """

    _template = _GAPS
    default_js = [("pingan-gaps.js", "pingan:pingan-gaps.js")]
    default_css = [("pingan-gaps.css", "pingan:pingan-gaps.css")]

    def __init__(self, config: dict):
        super().__init__()
        self._name = "GapsPanel"
        self.config = config


_INTAKE = Template("""
{% macro script(this, kwargs) %}
PinganIntake.start(paMap, {{ this.config|tojson }});
{% endmacro %}
""")


_HEAT = Template("""
{% macro script(this, kwargs) %}
PinganHeat.start(paMap, {{ this.config|tojson }});
{% endmacro %}
""")


class IntakePanel(JSCSSMixin, MacroElement):
    """The intake form beside the map (``pingan-intake.js``): a click on the
    map or typed coordinates in a chosen CRS, category, risk and description;
    the lookup's preview of where it lands and whom it goes to, then save.

    ``config``: ``preview``, ``create``, ``incident`` (its URL with ``CODE``),
    ``queue`` (URLs), ``csrf``, ``categories``, ``risks``, ``crs`` (code →
    label), ``units``.
    """

    _template = _INTAKE
    default_js = [("pingan-intake.js", "pingan:pingan-intake.js")]
    default_css = [("pingan-intake.css", "pingan:pingan-intake.css")]

    def __init__(self, config: dict):
        super().__init__()
        self._name = "IntakePanel"
        self.config = config


_STATION_PANEL = Template("""
{% macro html(this, kwargs) %}{{ this.html }}{% endmacro %}
{% macro script(this, kwargs) %}
PinganStation.start(paMap, {{ this.config|tojson }});
{% endmacro %}
""")


class StationPanel(JSCSSMixin, MacroElement):
    """The station home's side panel and print sheet (``pingan-station.js``,
    ``pingan-station.css``): ``html`` is the panel, rendered by the caller
    (escaped), ``config`` what its script needs (``gaps``: the gap report's
    URL, ``station``: the station's code, ``layers``)."""

    _template = _STATION_PANEL
    default_js = [("pingan-station.js", "pingan:pingan-station.js")]
    default_css = [("pingan-station.css", "pingan:pingan-station.css")]

    def __init__(self, html: str, config: dict):
        super().__init__()
        self._name = "StationPanel"
        self.html = html
        self.config = config


def center(conn: sa.Connection, scope: Scope) -> tuple[float, float]:
    """(lon, lat) of the middle of what ``scope`` frames."""
    south, west, north, east = _extent(conn, scope)
    return (west + east) / 2, (south + north) / 2


class HeatPanel(JSCSSMixin, MacroElement):
    """The heat page's panel (``pingan-heat.js``): period with a month slider
    and play, category, status, risk and township filters, counts or rates
    per 1,000 residents, hot spots, and the legend of what is shown.

    ``config``: ``months`` (``YYYY-MM``, oldest first), ``townships``
    (``[{code, name}]``), ``categories``, ``statuses``, ``risks`` (code →
    label), ``small`` (the small-count threshold), ``dashboard`` (URL).
    """

    _template = _HEAT
    default_js = [("pingan-heat.js", "pingan:pingan-heat.js")]
    default_css = [("pingan-heat.css", "pingan:pingan-heat.css")]

    def __init__(self, config: dict):
        super().__init__()
        self._name = "HeatPanel"
        self.config = config


def station_focus(conn: sa.Connection, code: str, user: User | None = None) -> Scope:
    """Focus on police station ``code``; NotFound if there is no such station
    the connection may see (another station's is the same 404).  A grid
    member's view of their station is framed on their own grids."""
    station_id = conn.execute(
        sa.text(
            "SELECT id FROM area WHERE kind = 'police_station' AND code = :code "
            "AND valid_to IS NULL"
        ),
        {"code": code},
    ).scalar()
    if station_id is None:
        raise NotFound(
            f"没有编码为 {code} 的派出所 / no police station with code {code!r}"
        )
    grids = user.grid_ids if user is not None and user.role == "grid_member" else ()
    return Scope(station_id=station_id, grid_ids=tuple(grids))


def stations(conn: sa.Connection) -> list[dict]:
    """Current police stations, ``[{code, name}]`` ordered by code."""
    rows = conn.execute(
        sa.text(
            "SELECT code, name FROM area WHERE kind = 'police_station' "
            "AND valid_to IS NULL ORDER BY code"
        )
    )
    return [dict(r._mapping) for r in rows]
