"""The survey lifecycle through HTTP only: surveyor → platform (returns once) → county → registry."""

from ..engine.office import APPROVE, RETURN, VILLAGE, id_number, registration


def _ready(api, user, person):
    items = api.get("/tasks", user, params={"q": person}).json()["items"]
    assert len(items) == 1, items
    return items[0]


def _complete(api, user, task, data):
    detail = api.get(f"/tasks/{task['id']}", user).json()
    r = api.post(
        f"/tasks/{task['id']}/complete", user, json=data, headers={"If-Match": str(detail["case_version"])}
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_survey_to_registry_over_http(api):
    person = id_number()
    api.population(person)
    r = api.post(
        "/cases",
        "platform1",
        json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": 1},
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    task = _ready(api, "surveyor1", person)
    assert task["title"] == "入户调查登记" and task["person_id"] == person
    _complete(api, "surveyor1", task, registration(person, phone="13905310001"))

    task = _ready(api, "platform1", person)
    detail = api.get(f"/tasks/{task['id']}", "platform1").json()
    assert detail["data"]["registration"]["phone"] == "13905310001" and detail["decisions"] == [
        "approve",
        "return",
    ]
    r = api.post(
        f"/tasks/{task['id']}/return",
        "platform1",
        json={"reason": RETURN["reason"]},
        headers={"If-Match": str(detail["case_version"])},
    )
    assert r.status_code == 200, r.text

    # the returned survey is back with the surveyor who submitted it (issue 20)
    _complete(api, "surveyor1", _ready(api, "surveyor1", person), registration(person))
    _complete(api, "platform1", _ready(api, "platform1", person), APPROVE)
    done = _complete(api, "county1", _ready(api, "county1", person), APPROVE)
    assert done["status"] == "waiting" and done["status_detail"] == "等待归档"

    record = api.get(f"/persons/{person}", "county1").json()
    assert record["name"] == "张三" and record["phone"] == "13805310000"
    history = [e["action"] for e in api.get(f"/cases/{case_id}/history", "auditor1").json()]
    assert history.count("task.return") == 1 and "service.run" in history
    masked = api.get(f"/persons/{person}", "auditor1").json()
    assert masked["id_number"] == person[:6] + "********" + person[-4:] and masked["phone"] == "138****0000"
