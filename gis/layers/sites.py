"""重点部位 (key sites): schools, hospitals, markets, hazardous-chemical works."""

from gis.layers.base import PointLayer


class SiteLayer(PointLayer):
    name = "sites"
    data = "sites"  # title, popup and enumerations: gis.catalog
    color_field = "kind"
    # Three groups a planner tells apart at a glance: where crowds gather,
    # hazardous works, and the rest (the popup names the kind).
    colors = {
        "school": "#6a3d9a",
        "hospital": "#6a3d9a",
        "market": "#6a3d9a",
        "transport": "#6a3d9a",
        "hazchem": "#a50f15",
        "government": "#525252",
        "intersection": "#525252",
        "other": "#525252",
    }
    legend_labels = {
        "人员密集(学校/医院/市场/交通枢纽)": "#6a3d9a",
        "危化品企业": "#a50f15",
        "党政机关/路口/其他": "#525252",
    }
    radius = 6
    show = False
    cluster_color = "#54278f"
    cluster_shape = "diamond"
