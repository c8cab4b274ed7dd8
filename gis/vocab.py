"""Domain vocabularies: the codes stored in the database and their Chinese labels.

The CHECK constraints in ``gis/schema`` list the same codes; these dictionaries are
the single place their user-facing labels live.  :mod:`gis.catalog` names them
for each layer's properties (and ``tests/test_catalog.py`` checks them against
the constraints).
"""


def codes_by_name(choices: dict) -> dict:
    """Each stored code and each Chinese label of ``choices``, mapped to the code.

    Users type either (``警务室`` or ``police_room``); both mean the same row value.
    """
    return {
        **{label: code for code, label in choices.items()},
        **{c: c for c in choices},
    }


AREA_KINDS = {
    "district": "区县",
    "township": "乡镇/街道",
    "village": "村/社区",
    "grid": "网格",
    "police_station": "派出所辖区",
}
AREA_SUBKINDS = {
    "street": "街道",
    "town": "镇",
    "township": "乡",
    "village": "村",
    "community": "社区",
}
POST_KINDS = {
    "station_hq": "派出所驻地",
    "police_room": "警务室",
    "workstation": "警务工作站",
}
OFFICER_KINDS = {"police": "民警", "auxiliary": "辅警"}
GRID_MEMBER_KINDS = {"full_time": "专职", "part_time": "兼职"}
CAMERA_KINDS = {"fixed": "枪机(固定)", "ptz": "云台(PTZ)", "dome": "球机"}
CAMERA_STATUSES = {"online": "在线", "offline": "离线", "fault": "故障"}
SITE_KINDS = {
    "intersection": "路口",
    "school": "学校",
    "hospital": "医院",
    "market": "市场",
    "hazchem": "危化品企业",
    "transport": "交通枢纽",
    "government": "党政机关",
    "other": "其他",
}
INCIDENT_CATEGORIES = {
    "dispute_family": "婚恋家庭纠纷",
    "dispute_neighbour": "邻里纠纷",
    "dispute_debt": "债务纠纷",
    "dispute_land": "土地承包纠纷",
    "dispute_labour": "劳资纠纷",
    "dispute_demolition": "征地拆迁纠纷",
    "dispute_property": "物业纠纷",
    "dispute_medical": "医患纠纷",
    "dispute_other": "其他矛盾纠纷",
    "case": "案件",
    "petition": "信访",
    "accident": "事故",
    "hazard": "安全隐患",
}
INCIDENT_STATUSES = {
    "received": "已受理",
    "dispatched": "已派发",
    "handling": "处置中",
    "resolved": "已化解",
    "followed_up": "已回访",
    "archived": "已归档",
}
RESOLVED_LEVELS = {
    "village": "村(社区)级",
    "township": "乡镇(街道)级",
    "district": "区县级",
}
RISK_TIERS = {
    "red": "红色(重大风险)",
    "orange": "橙色(较大风险)",
    "yellow": "黄色(一般风险)",
}
SATISFACTION = {
    "satisfied": "满意",
    "basically": "基本满意",
    "unsatisfied": "不满意",
}
HANDLING_UNITS = {"grid": "网格", "post": "警务室/工作站", "station": "派出所"}
