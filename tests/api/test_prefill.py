"""A task's prefill (`data[data_key]` of GET /tasks/{id}) submits back through POST /tasks/{id}/complete as
it is: no nulls, no keys the form does not know; a client adds only what the form asks of the user. Walked
over every user task of every shipped process."""

from __future__ import annotations

from typing import Any

import forms
from canbao.config import PROJECT_ROOT

from ..engine.office import APPROVE, VILLAGE, counter_form, id_number, registration

REJECT = {"decision": "reject", "reason": "演示：不予办理"}


def _nulls(value: Any, at: str = "") -> list[str]:
    if value is None:
        return [at]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{at}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nulls(v, f"{at}/{i}")]
    return []


def _change(person: str) -> dict:
    return {
        "id_number": person,
        "changes": [{"field": "/phone", "old": "13805310000", "new": "13905319999"}],
        "reason": "本人更换了手机号码",
        "evidence": [],
    }


class Walk:
    """Complete the ready task of a case with its prefill plus the user's part, checking the prefill."""

    def __init__(self, api, case_id: int, headers: dict[str, dict[str, str]] | None = None) -> None:
        self.api, self.case_id, self.headers = api, case_id, headers or {}
        self.seen: list[tuple[str, str]] = []

    def _auth(self, user: str) -> dict[str, str]:
        return self.headers.get(user) or self.api.as_(user)

    def step(self, user: str, task: str, added: dict[str, Any]) -> None:
        """`added`: what the user fills in (or corrects) on top of the prefill."""
        row = self.api.task_of(self.case_id)
        assert row.spec_name == task
        detail = self.api.client.get(f"/api/v1/tasks/{row.task_guid}", headers=self._auth(user))
        assert detail.status_code == 200, detail.text
        body = detail.json()
        prefill = body["data"][body["data_key"]]
        assert isinstance(prefill, dict) and _nulls(prefill) == [], (task, prefill)
        refused = [e for e in forms.validate(body["form"], prefill) if not e.code.endswith("required")]
        assert [(e.pointer, e.code) for e in refused if e.code == "field.unknown" or "type" in e.code] == []
        data = prefill | added
        done = self.api.client.post(
            f"/api/v1/tasks/{row.task_guid}/complete",
            headers={**self._auth(user), "If-Match": str(body["case_version"])},
            json=data,
        )
        assert done.status_code == 200, (task, data, done.text)
        self.seen.append((body["process"], task))


def _start(api, user: str, process: str, person: str) -> int:
    r = api.post("/cases", user, json={"process": process, "person_id": person, "area": VILLAGE})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_every_user_tasks_prefill_submits_back_cleanly(api):
    seen: set[tuple[str, str]] = set()

    person = id_number(seq="701")
    walk = Walk(api, api.start_survey(person))
    found = registration(person)  # what the surveyor finds at the door
    walk.step("surveyor1", "survey", {k: found[k] for k in ("residence", "phone", "survey", "insurance")})
    walk.step("platform1", "initial_review", APPROVE)
    walk.step("county1", "final_review", APPROVE)  # the registry now holds the person, nulls and all
    seen |= set(walk.seen)

    walk = Walk(api, _start(api, "counter1", "counter_collection", person))
    walk.step("counter1", "collect", {"survey": counter_form(person)["survey"]})
    walk.step("counter2", "check", APPROVE)
    seen |= set(walk.seen)

    walk = Walk(api, _start(api, "platform1", "change_approval", person))
    walk.step("platform1", "collect_change", _change(person))
    walk.step("platform2", "initial_review", APPROVE)
    walk.step("county1", "final_review", APPROVE)
    seen |= set(walk.seen)

    citizen = api.mint(person, ["citizen"], "")
    r = api.client.post("/api/v1/cases", headers=citizen, json={"process": "self_service_update"})
    assert r.status_code == 201, r.text
    walk = Walk(api, r.json()["id"], {"citizen": citizen})
    walk.step("citizen", "submit", _change(person) | {"changes": [{"field": "/phone", "new": "13705318888"}]})
    walk.step("county1", "confirm", REJECT)
    seen |= set(walk.seen)

    walk = Walk(api, _start(api, "platform1", "id_correction", person))
    correction = {"new_id_number": id_number(seq="703"), "reason": "号码录入错误", "evidence": ["doc-1"]}
    walk.step("platform1", "collect", correction)
    walk.step("platform2", "initial_review", APPROVE)
    walk.step("county1", "final_review", REJECT)
    seen |= set(walk.seen)

    processes = {p.stem for p in (PROJECT_ROOT / "bpmn").glob("*.bpmn")}
    assert {p for p, _ in seen} == processes
