"""警务室 / 警务工作站 / 派出所驻地 (police posts)."""

from gis.layers.base import PointLayer


class PostLayer(PointLayer):
    name = "posts"
    data = "posts"  # title, popup, enumerations, personal (phones): gis.catalog
    color_field = "kind"
    colors = {
        "station_hq": "#b10026",
        "police_room": "#fc4e2a",
        "workstation": "#feb24c",
    }
    radius = 7
    # A district has a few hundred (one by one), a county thousands (clusters).
    cluster_color = "#99000d"
    cluster_shape = "diamond"
