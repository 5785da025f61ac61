"""A small test office: the actors of design §2 in 历下区 解放路街道, and helpers to drive cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from canbao.actors import Actor
from canbao.audit.models import AuditEvent
from engine import cases
from engine.models import Case, CaseTask
from forms.idnumber import check_char

VILLAGE = "370102001002"  # 解放桥社区居民委员会, 解放路街道, 历下区, 济南市
TOWNSHIP = VILLAGE[:9]
COUNTY = VILLAGE[:6]

SURVEYOR1 = Actor(sub="surveyor1", roles=("surveyor",), area=TOWNSHIP, teams=(1,))
SURVEYOR2 = Actor(sub="surveyor2", roles=("surveyor",), area=TOWNSHIP, teams=(1,))
OTHER_TEAM = Actor(sub="surveyor9", roles=("surveyor",), area=TOWNSHIP, teams=(2,))
PLATFORM1 = Actor(sub="platform1", roles=("platform_reviewer",), area=TOWNSHIP)
PLATFORM2 = Actor(sub="platform2", roles=("platform_reviewer",), area=TOWNSHIP)
ELSEWHERE = Actor(sub="platform7", roles=("platform_reviewer",), area="370103001")
COUNTY1 = Actor(sub="county1", roles=("county_approver",), area=COUNTY)
COUNTER1 = Actor(sub="counter1", roles=("counter_clerk",), area=COUNTY)
COUNTER2 = Actor(sub="counter2", roles=("counter_clerk",), area=TOWNSHIP)
MANAGER = Actor(sub="manager1", roles=("process_manager",), area="37")


def id_number(birth: str = "19900101", seq: str = "123") -> str:
    body = f"{COUNTY}{birth}{seq}"
    return body + check_char(body)


def registration(person: str | None = None, **overrides: Any) -> dict[str, Any]:
    person = person or id_number()
    born = f"{person[6:10]}-{person[10:12]}-{person[12:14]}"
    data = {
        "id_type": "01",
        "id_number": person,
        "name": "张三",
        "sex": "1" if int(person[16]) % 2 else "2",
        "birth_date": born,
        "ethnicity": "01",
        "hukou": {"division": VILLAGE, "address": "济南市历下区解放路1号", "nature": "10"},
        "residence": {"division": VILLAGE, "address": "济南市历下区解放路1号"},
        "phone": "13805310000",
        "employment": {"status": "11", "employer": "济南某某有限公司"},
        "insurance": [{"scheme": "110", "status": "1", "place": COUNTY, "first_date": "2015-03-01"}],
        "insured_elsewhere": False,
        "survey": {
            "channel": "survey",
            "team": "JFL-01",
            "surveyors": [{"name": "李四", "card_no": "DC0001"}, {"name": "王五", "card_no": "DC0002"}],
            "date": "2026-11-20",
            "signed": True,
        },
    }
    data.update(overrides)
    return data


def counter_form(person: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A 登记表 collected at the counter (第十三条): no survey team, no 调查证."""
    return registration(person, **overrides) | {
        "survey": {"channel": "counter", "date": "2026-11-28", "signed": True}
    }


APPROVE = {"decision": "approve"}
RETURN = {"decision": "return", "reason": "联系电话与户籍信息不符，请核实", "return_items": ["/phone"]}
REJECT = {"decision": "reject", "reason": "经核实已在外省参保，不予重复登记"}


class Office:
    def __init__(self, db) -> None:
        self.db = db

    def start(
        self,
        process_key: str = "survey_registration",
        *,
        actor: Actor = PLATFORM1,
        person: str | None = None,
        team_id: int | None = 1,
        data: dict | None = None,
    ) -> int:
        with self.db.sessions() as s, s.begin():
            case = cases.start(
                s,
                actor=actor,
                process_key=process_key,
                area=VILLAGE,
                person_id=person,
                person_name="张三",
                team_id=team_id,
                data=data,
            )
            return case.id

    def ready(self, case_id: int) -> list[CaseTask]:
        with self.db.sessions() as s:
            return list(
                s.scalars(
                    select(CaseTask)
                    .where(CaseTask.case_id == case_id, CaseTask.state == "ready")
                    .order_by(CaseTask.id)
                )
            )

    def task(self, case_id: int, spec_name: str | None = None) -> CaseTask:
        ready = [t for t in self.ready(case_id) if spec_name in (None, t.spec_name)]
        assert len(ready) == 1, (
            f"expected one ready {spec_name}, found {[t.spec_name for t in self.ready(case_id)]}"
        )
        return ready[0]

    def complete(self, actor: Actor, case_id: int, spec_name: str, data: dict, **kw: Any) -> Case:
        guid = self.task(case_id, spec_name).task_guid
        with self.db.sessions() as s, s.begin():
            return cases.complete(s, actor=actor, task_id=guid, data=data, **kw)

    def case(self, case_id: int) -> Case:
        with self.db.sessions() as s:
            return s.get(Case, case_id)

    def events(self, case_id: int) -> list[AuditEvent]:
        with self.db.sessions() as s:
            return list(
                s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id))
            )

    def actions(self, case_id: int) -> list[str]:
        return [e.action for e in self.events(case_id)]
