"""督办 (第十九条: 入库 always follows a 初审): an overdue 初审 stays with the platform; the county sees it in
its 督办 list, reminds, or reassigns it within the platform."""

import time

from engine import cases, worker

from ..engine.office import APPROVE, PLATFORM1, VILLAGE, id_number, registration


def _at_overdue_initial_review(api) -> tuple[int, str]:
    """A survey case whose 初审 falls due a second after it begins, and the worker's pass after that."""
    person = id_number(seq="613")
    with api.db.sessions() as s, s.begin():
        case_id = cases.start(
            s,
            actor=PLATFORM1,
            process_key="survey_registration",
            area=VILLAGE,
            person_id=person,
            team_id=1,
            data={"timeouts": {"initial_review": "PT1S"}},
        ).id
    api.complete("surveyor1", case_id, registration(person))
    task = api.task_of(case_id).task_guid
    assert api.get("/supervision", "county1").json()["items"] == []
    time.sleep(1.2)
    assert worker.run_due(api.db.sessions) == 1
    return case_id, task


def test_an_overdue_initial_review_is_supervised_not_skipped(api):
    case_id, task = _at_overdue_initial_review(api)
    listed = api.get("/supervision", "county1").json()["items"]
    assert [(t["id"], t["task"], t["reminders"]) for t in listed] == [(task, "initial_review", 0)]
    assert listed[0]["supervised_at"] is not None
    assert api.get("/supervision", "city1").status_code == 403
    assert api.get("/supervision", "platform9").status_code == 403
    other_county = api.mint("county9", ["county_approver"], "370103")
    assert api.client.get("/api/v1/supervision", headers=other_county).json()["items"] == []

    reminded = api.post(f"/tasks/{task}/remind", "county1", json={"note": "请于本周内完成初审"})
    assert reminded.status_code == 200 and reminded.json()["reminders"] == 1
    assert api.events("task.remind")[-1].payload_json["note"] == "请于本周内完成初审"
    inbox = api.get("/tasks", "platform1").json()["items"]
    assert [(t["id"], t["reminders"], t["supervised_at"] is not None) for t in inbox] == [(task, 1, True)]
    outsider = api.client.post(f"/api/v1/tasks/{task}/remind", headers=other_county, json={})
    assert outsider.status_code == 404
    assigned = api.post(f"/tasks/{task}/assign", "county1", json={"assignee": "platform2"})
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "platform2"
    api.complete("platform2", case_id, APPROVE)
    assert api.task_of(case_id).spec_name == "final_review"
