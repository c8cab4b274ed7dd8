"""Vocabulary for the synthetic demo world: plausible, clearly invented names."""

from __future__ import annotations

import numpy as np

TOWNSHIP_WORDS = [
    "东城",
    "西城",
    "新华",
    "建设",
    "文化",
    "胜利",
    "长安",
    "和平",
    "解放",
    "光明",
    "振兴",
    "兴华",
    "安居",
    "永安",
    "太平",
    "富民",
]
VILLAGE_WORDS = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "赵",
    "黄",
    "周",
    "吴",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "高",
    "林",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
]
VILLAGE_SUFFIXES = [
    "庄",
    "屯",
    "寨",
    "楼",
    "集",
    "营",
    "店",
    "堤",
    "口",
    "湾",
    "岗",
    "家",
]
COMMUNITY_WORDS = [
    "锦华",
    "翠苑",
    "龙湖",
    "绿城",
    "阳光",
    "金桥",
    "康乐",
    "馨园",
    "华府",
    "春晖",
    "丽景",
    "铁路",
    "油田",
    "石化",
    "水岸",
    "文苑",
    "福泽",
    "嘉禾",
    "泰和",
    "明珠",
]
# 社区 names: a word plus one of these, e.g. 锦华社区, 锦华东社区, 锦华花园社区.
COMMUNITY_SUFFIXES = ["社区", "东社区", "西社区", "南社区", "北社区", "花园社区"]
SURNAMES = VILLAGE_WORDS + ["曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏"]
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰海峰鹏辉"
STATION_WORDS = [
    "城关",
    "城东",
    "城西",
    "城南",
    "城北",
    "开发区",
    "新区",
    "河畔",
    "东郊",
    "西郊",
    "北郊",
    "南郊",
]


def person(rng: np.random.Generator) -> str:
    """A synthetic Chinese personal name."""
    given = "".join(rng.choice(list(GIVEN), size=int(rng.integers(1, 3))))
    return str(rng.choice(SURNAMES)) + given


def village(rng: np.random.Generator, used: set[str], community: bool) -> str:
    """A unique synthetic village (村) or community (社区) name."""
    for _ in range(1000):
        if community:
            name = f"{rng.choice(COMMUNITY_WORDS)}{rng.choice(COMMUNITY_SUFFIXES)}"
        else:
            name = f"{rng.choice(VILLAGE_WORDS)}{rng.choice(VILLAGE_SUFFIXES)}村"
        if name not in used:
            used.add(name)
            return name
    # Vocabulary exhausted: number the name rather than repeat one.
    name = f"{name}{len(used)}号"
    used.add(name)
    return name
