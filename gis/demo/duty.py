"""Legal advisers, mediators and township patrol teams for the synthetic worlds.

Shared by the demo district (:mod:`gis.demo.world`) and the synthetic county
(:mod:`gis.demo.county_world`).  At the field's scale: a 村(居)法律顾问 for one
to three villages of a township, a 人民调解员 in every village, and a patrol
team of 1-1.6 % of each township's residents.  Planted gaps, so the gap
analysis has something to find in every role: a few villages with no adviser
and one adviser with too many villages, a few villages with no mediator and one
mediator answering for two, and one township's patrol team at 0.6 %.

Drawn from a random stream of their own, so adding them changed no other row
of the worlds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from gis.demo import names

logger = logging.getLogger(__name__)

N_NO_ADVISER = 3
N_NO_MEDIATOR = 4
LOW_PATROL_SHARE = 0.006  # the planted township: below the Handan rule's 1 %


@dataclass
class Duty:
    """People of the generic roles and the links to the villages they serve."""

    people: list[dict] = field(default_factory=list)
    person_areas: list[tuple[str, str]] = field(default_factory=list)


def generate(rng, townships: list[dict], villages: list[dict]) -> Duty:
    """Advisers and mediators for ``villages``; sets each township's
    ``patrol_strength`` in place (townships need their population first)."""
    out = Duty()
    by_township: dict[str, list[dict]] = {}
    for v in sorted(villages, key=lambda v: v["code"]):
        by_township.setdefault(v["parent_code"], []).append(v)
    no_adviser = _planted(rng, villages, N_NO_ADVISER)
    no_mediator = _planted(rng, villages, N_NO_MEDIATOR)
    names_of = {t["code"]: t["name"] for t in townships}
    for tcode, members in by_township.items():
        _advisers(rng, out, tcode, names_of.get(tcode, ""), members, no_adviser)
    for v in sorted(villages, key=lambda v: v["code"]):
        if v["code"] not in no_mediator:
            out.people.append(_person(rng, f"TJ{v['code']}1", "mediator",
                                      f"{v['name']}调解委员会"))  # fmt: skip
            out.person_areas.append((out.people[-1]["code"], v["code"]))
    # One mediator also answers for the next village (capacity 1: overloaded).
    first, second = (v["code"] for v in sorted(villages, key=lambda v: v["code"])[:2])
    out.person_areas.append((f"TJ{first}1", second))
    _patrols(rng, townships)
    return out


def _planted(rng, villages, n: int) -> set[str]:
    codes = sorted(v["code"] for v in villages)
    return set(rng.choice(codes, size=min(n, len(codes)), replace=False).tolist())


def _advisers(rng, out: Duty, tcode, tname, members, skip) -> None:
    """One adviser per run of 1-3 villages; the township's first adviser also
    takes the next run (up to six villages: over the default capacity)."""
    runs, i = [], 0
    while i < len(members):
        n = int(rng.integers(1, 4))
        runs.append([v["code"] for v in members[i : i + n] if v["code"] not in skip])
        i += n
    if tcode.endswith("001000") and len(runs) > 1:  # the planted overload
        runs[0:2] = [runs[0] + runs[1]]
    for k, run in enumerate(r for r in runs if r):
        code = f"FG{tcode[:9]}{k + 1:03d}"
        out.people.append(_person(rng, code, "legal_adviser", f"{tname}司法所"))
        out.person_areas += [(code, v) for v in run]


def _person(rng, code: str, role: str, office: str) -> dict:
    return {
        "code": code,
        "name": names.person(rng),
        "role": role,
        "office": office,
        "phone": f"1{int(rng.integers(3e9, 9e9))}",
    }


def _patrols(rng, townships: list[dict]) -> None:
    ranked = sorted(townships, key=lambda t: t["code"])
    for k, t in enumerate(ranked):
        share = LOW_PATROL_SHARE if k == len(ranked) - 1 else rng.uniform(0.0105, 0.016)
        t["patrol_strength"] = int(np.ceil((t["population"] or 0) * share))
