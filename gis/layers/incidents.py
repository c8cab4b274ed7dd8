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
    title = "矛盾纠纷/事件"
    table = "incident"
    personal = True  # descriptions, exact places
    columns = {
        "category": "t.category",
        "status": "t.status",
        "reported_at": "to_char(t.reported_at AT TIME ZONE 'Asia/Shanghai', "
        "'YYYY-MM-DD HH24:MI')",
        "resolved_level": "t.resolved_level",
        "source": "t.source",
        "description": "t.description",
    }
    categorical = {
        "category": vocab.INCIDENT_CATEGORIES,
        "status": vocab.INCIDENT_STATUSES,
        "resolved_level": vocab.RESOLVED_LEVELS,
    }
    fields = {
        "code": "编号",
        "category": "类别",
        "status": "状态",
        "reported_at": "上报时间",
        "village_name": "村/社区",
        "grid_name": "网格",
        "station_name": "派出所",
        "description": "描述",
    }
    color_field = "category"
    colors = _COLORS
    legend = {
        "矛盾纠纷": "#fd8d3c",
        "案件": "#bd0026",
        "信访": "#7a0177",
        "事故": "#225ea8",
        "安全隐患": "#41ab5d",
    }
    radius = 5
