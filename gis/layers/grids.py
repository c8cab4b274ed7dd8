"""网格 (grids inside villages)."""

from gis.layers.base import AreaLayer


class GridLayer(AreaLayer):
    name = "grids"
    data = "grids"  # title, kind and popup: gis.catalog
    color = "#33a02c"
    weight = 0.8
    fill_opacity = 0.0
    show = False  # dense; planners switch it on when zoomed in
