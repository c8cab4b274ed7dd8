"""矛盾纠纷 and other incidents."""

from gis import vocab
from gis.layers.base import PointLayer

# Colour by family of category: disputes warm, cases red, the rest grey-blue.
_COLORS = {
    code: "#fd8d3c" for code in vocab.INCIDENT_CATEGORIES if code.startswith("dispute")
}
_COLORS.update(
    {
        "case": "#bd0026",
        "petition": "#7a0177",
        "accident": "#225ea8",
        "hazard": "#41ab5d",
    }
)


class IncidentLayer(PointLayer):
    name = "incidents"
    data = "incidents"  # title, popup, enumerations, personal: gis.catalog
    color_field = "category"
    colors = _COLORS
    legend_labels = {
        "矛盾纠纷": "#fd8d3c",
        "案件": "#bd0026",
        "信访": "#7a0177",
        "事故": "#225ea8",
        "安全隐患": "#41ab5d",
    }
    radius = 5
    cluster_color = "#e6550d"
    cluster_shape = "circle"
