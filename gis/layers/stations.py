"""派出所辖区 (police-station jurisdictions)."""

from gis.layers.base import AreaLayer


class StationLayer(AreaLayer):
    name = "stations"
    title = "派出所辖区"
    kind = "police_station"
    color = "#e31a1c"
    weight = 2.5
    fill_opacity = 0.0
    show = False
    fields = {"name": "名称", "code": "机构代码", "population": "辖区人口"}
