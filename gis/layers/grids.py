"""网格 (grids inside villages)."""

from gis.layers.base import AreaLayer


class GridLayer(AreaLayer):
    name = "grids"
    title = "网格"
    kind = "grid"
    color = "#33a02c"
    weight = 0.8
    fill_opacity = 0.0
    show = False  # dense; planners switch it on when zoomed in
    fields = {
        "name": "名称",
        "code": "网格编码",
        "parent_name": "所属村/社区",
        "population": "人口",
    }
