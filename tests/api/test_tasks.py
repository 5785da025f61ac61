"""The inbox and working tasks over HTTP: who sees, claims, assigns and completes what."""

from __future__ import annotations

from datetime import timedelta

from canbao.db import utcnow
from engine import grants
from engine.models import Case, CaseTask
from forms import idnumber

from ..engine.office import APPROVE, RETURN, id_number, registration
from .conftest import CITY


def _to_county(api, person: str) -> str:
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    api.complete("platform1", case_id, APPROVE)
    return api.task_of(case_id).task_guid


def test_inbox_shows_each_lane_its_own_tasks_with_paging(api):
    people = [id_number(seq=f"{n:03d}") for n in range(1, 6)]
    for person in people:
        api.start_survey(person)
    first = api.get("/tasks", "surveyor1", params={"limit": 2}).json()
    assert [t["task"] for t in first["items"]] == ["survey", "survey"] and first["next"]
    second = api.get("/tasks", "surveyor1", params={"limit": 2, "after": first["next"]}).json()
    third = api.get("/tasks", "surveyor1", params={"limit": 2, "after": second["next"]}).json()
    seen = [t["person_id"] for page in (first, second, third) for t in page["items"]]
    assert sorted(seen) == sorted(people) and third["next"] is None
    assert "counts" not in first  # counts are their own call
    assert api.get("/tasks", "platform1").json()["items"] == []  # nothing in the platform's lane yet
    assert api.get("/tasks", "platform9").json()["items"] == []  # 市中区 sees nothing of 历下区


def test_inbox_filters_and_counts(api):
    alice, bob = id_number(seq="101"), id_number(seq="102")
    api.start_survey(alice)
    api.start_survey(bob)
    claimed = api.task_of(api.start_survey(id_number(seq="103"))).task_guid
    assert api.post(f"/tasks/{claimed}/claim", "surveyor2").status_code == 200
    mine = api.get("/tasks", "surveyor2", params={"status": "mine"}).json()["items"]
    assert [t["id"] for t in mine] == [claimed]
    assert len(api.get("/tasks", "surveyor1", params={"status": "others"}).json()["items"]) == 1
    assert len(api.get("/tasks", "surveyor1", params={"status": "open"}).json()["items"]) == 2
    assert api.get("/tasks", "surveyor1", params={"q": alice}).json()["items"][0]["person_id"] == alice
    masked = api.get("/tasks", "surveyor1", params={"q": idnumber.mask(bob)}).json()["items"]
    assert [t["person_id"] for t in masked] == [bob]
    assert api.get("/tasks", "surveyor1", params={"process": "change_approval"}).json()["items"] == []
    assert api.get("/tasks", "surveyor1", params={"overdue": True}).json()["items"] == []
    assert api.get("/tasks", "surveyor1", params={"q": "张三"}).json()["items"] == []
    with api.db.sessions() as s, s.begin():
        s.get(CaseTask, 1).due_at = utcnow() - timedelta(days=1)
        s.get(CaseTask, 1).person_name = "张三丰"
    assert [
        t["person_name"] for t in api.get("/tasks", "surveyor1", params={"q": "三丰"}).json()["items"]
    ] == ["张三丰"]
    overdue = api.get("/tasks", "surveyor1", params={"overdue": True}).json()["items"]
    assert [t["overdue"] for t in overdue] == [True]
    counts = api.get("/tasks/counts", "surveyor2").json()
    assert counts == {"open": 2, "mine": 1, "others": 0, "overdue": 1, "total": 3}
    assert api.get("/tasks/counts", "surveyor2", params={"q": alice}).json()["total"] == 1


def test_inbox_refuses_an_area_outside_the_callers(api):
    r = api.get("/tasks", "platform1", params={"area": "370103"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/area"
    bad = api.get("/tasks", "platform1", params={"limit": 0, "sort": "name", "after": "%%%"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/query/limit", "/query/sort", "/query/after"}
    cursor = api.get("/tasks", "platform1", params={"after": "bm90LWEtY3Vyc29y"})
    assert cursor.status_code == 422 and cursor.json()["errors"][0]["code"] == "cursor.invalid"


def test_listing_persons_is_audited_per_person(api):
    people = [id_number(seq="201"), id_number(seq="202")]
    for person in people:
        api.start_survey(person)
    before = len(api.events("person.read"))
    api.get("/tasks", "surveyor1")
    reads = api.events("person.read")[before:]
    assert sorted(e.person_id for e in reads) == sorted(people)
    assert {e.actor_sub for e in reads} == {"surveyor1"} and reads[0].payload_json["purpose"] == "list"


def test_task_detail_is_audited_and_hidden_from_other_lanes(api):
    person = id_number(seq="301")
    task = api.task_of(api.start_survey(person)).task_guid
    detail = api.get(f"/tasks/{task}", "surveyor1")
    assert detail.status_code == 200 and detail.json()["case_version"] >= 1
    read = api.events("person.read")[-1]
    assert (read.actor_sub, read.person_id, read.object_id) == ("surveyor1", person, task)
    # A lead sees the tasks of the lanes it leads; nobody else outside the lane, nor outside the area.
    assert api.get(f"/tasks/{task}", "platform1").status_code == 200
    assert api.get(f"/tasks/{task}", "platform9").status_code == 404
    citizen = api.mint("110101199003077777", ["citizen"], "")
    assert api.client.get(f"/api/v1/tasks/{task}", headers=citizen).status_code == 404
    outsider = api.mint("surveyor7", ["surveyor"], "370102001")  # same township, no team
    r = api.client.get(f"/api/v1/tasks/{task}", headers=outsider)
    assert r.status_code == 404 and r.json()["code"] == "task.not_found"
    assert api.get("/tasks/00000000-0000-4000-8000-00000000beef", "surveyor1").status_code == 404
    assert api.get("/tasks/no-such-task", "surveyor1").status_code == 422


def test_claim_and_unclaim_rules(api):
    task = api.task_of(api.start_survey(id_number(seq="401"))).task_guid
    claimed = api.post(f"/tasks/{task}/claim", "surveyor1")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "surveyor1"
    taken = api.post(f"/tasks/{task}/claim", "surveyor2")
    assert taken.status_code == 409 and taken.json()["code"] == "task.claimed_by_other"
    not_yours = api.post(f"/tasks/{task}/unclaim", "surveyor2")
    assert not_yours.status_code == 409
    wrong_lane = api.post(f"/tasks/{task}/claim", "county1")
    assert wrong_lane.status_code == 403 and wrong_lane.json()["code"] == "task.wrong_lane"
    assert api.post(f"/tasks/{task}/unclaim", "surveyor1").json()["assignee"] is None
    again = api.post(f"/tasks/{task}/unclaim", "surveyor1")
    assert again.status_code == 409 and again.json()["code"] == "task.not_claimed"
    # A lead releases a task someone else claimed.
    api.post(f"/tasks/{task}/claim", "surveyor2")
    assert api.post(f"/tasks/{task}/unclaim", "platform1").json()["assignee"] is None
    assert [e.action for e in api.events() if e.object_id == task and e.action != "task.ready"] == [
        "task.claim",
        "task.unclaim",
        "task.claim",
        "task.unclaim",
    ]
    assert api.post(f"/tasks/{task}/claim", "city1").status_code == 403
    assert api.post(f"/tasks/{task}/claim", "platform9").status_code == 404


def test_assign_only_by_a_lead_to_an_eligible_user(api):
    task = api.task_of(api.start_survey(id_number(seq="501"))).task_guid
    by_surveyor = api.post(f"/tasks/{task}/assign", "surveyor1", json={"assignee": "surveyor2"})
    assert by_surveyor.status_code == 403 and by_surveyor.json()["code"] == "auth.role_not_allowed"
    assert "分派任务" in by_surveyor.json()["detail"]
    for assignee, code in (
        ("nobody", "assignee.unknown"),
        ("platform2", "assignee.not_eligible"),  # no surveyor role
        ("county1", "assignee.not_eligible"),
    ):
        r = api.post(f"/tasks/{task}/assign", "platform1", json={"assignee": assignee})
        assert r.status_code == 422 and r.json()["errors"] == [
            {"pointer": "/assignee", "code": code, "message": r.json()["errors"][0]["message"]}
        ], assignee
    with api.db.sessions() as s, s.begin():
        from api.auth.models import User

        s.add(User(username="surveyor9", name="s9", password_hash="x", roles=["surveyor"], area="370102001"))
    r = api.post(f"/tasks/{task}/assign", "platform1", json={"assignee": "surveyor9"})
    assert r.json()["errors"][0]["code"] == "assignee.not_in_team"
    ok = api.post(f"/tasks/{task}/assign", "platform1", json={"assignee": "surveyor2"})
    assert ok.status_code == 200 and ok.json()["assignee"] == "surveyor2"
    assert api.events("task.assign")[-1].payload_json["assignee"] == "surveyor2"
    assert api.post(f"/tasks/{task}/assign", "platform9", json={"assignee": "surveyor2"}).status_code == 404
    empty = api.post(f"/tasks/{task}/assign", "platform1", json={})
    assert empty.status_code == 422 and empty.json()["errors"][0]["pointer"] == "/assignee"


def test_platform_cannot_assign_county_work_but_county_can(api):
    task = _to_county(api, id_number(seq="601"))
    r = api.post(f"/tasks/{task}/assign", "platform1", json={"assignee": "county1"})
    assert r.status_code == 404  # outside the platform's lanes: not even visible
    assert api.post(f"/tasks/{task}/assign", "county1", json={"assignee": "county1"}).status_code == 200


def test_complete_needs_the_current_case_version(api):
    person = id_number(seq="701")
    case_id = api.start_survey(person)
    task = api.task_of(case_id).task_guid
    version = api.get(f"/tasks/{task}", "surveyor1").json()["case_version"]
    missing = api.post(f"/tasks/{task}/complete", "surveyor1", json=registration(person))
    assert missing.status_code == 428 and missing.json()["code"] == "case.version_required"
    stale = api.post(
        f"/tasks/{task}/complete",
        "surveyor1",
        json=registration(person),
        headers={"If-Match": str(version - 1)},
    )
    assert stale.status_code == 412 and stale.json()["code"] == "case.stale_version"
    garbage = api.post(f"/tasks/{task}/complete", "surveyor1", json={}, headers={"If-Match": "soon"})
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["pointer"] == "/headers/if-match"
    done = api.post(
        f"/tasks/{task}/complete",
        "surveyor1",
        json=registration(person),
        headers={"If-Match": f'"{version}"'},
    )
    assert done.status_code == 200 and done.json()["case_version"] > version
    twice = api.post(
        f"/tasks/{task}/complete",
        "surveyor1",
        json=registration(person),
        headers={"If-Match": f'"{version}"'},
    )
    assert twice.status_code == 409


def test_bad_form_data_names_every_field_and_changes_nothing(api):
    person = id_number(seq="801")
    case_id = api.start_survey(person)
    task = api.task_of(case_id).task_guid
    version = str(api.get(f"/tasks/{task}", "surveyor1").json()["case_version"])
    bad = registration(person, phone="12", birth_date="1990-13-01")
    del bad["name"]
    r = api.post(f"/tasks/{task}/complete", "surveyor1", json=bad, headers={"If-Match": version})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert {"/name", "/phone", "/birth_date"} <= pointers
    not_object = api.post(f"/tasks/{task}/complete", "surveyor1", json=[1, 2], headers={"If-Match": version})
    assert not_object.status_code == 422
    not_json = api.client.post(
        f"/api/v1/tasks/{task}/complete",
        content=b"{not json",
        headers={**api.as_("surveyor1"), "If-Match": version, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["pointer"] == ""
    with api.db.sessions() as s:
        assert str(s.get(Case, case_id).version) == version and api.task_of(case_id).task_guid == task


def test_return_needs_a_reason(api):
    person = id_number(seq="901")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    task = api.task_of(case_id).task_guid
    r = api.post(f"/tasks/{task}/return", "platform1", json={"reason": ""}, headers={"If-Match": "9"})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/reason"
    version = api.get(f"/tasks/{task}", "platform1").json()["case_version"]
    ok = api.post(f"/tasks/{task}/return", "platform1", json=RETURN, headers={"If-Match": str(version)})
    assert ok.status_code == 200
    assert api.events("task.return")[-1].payload_json["data"]["reason"] == RETURN["reason"]
    assert api.task_of(case_id).spec_name == "survey"


def test_county_approval_needs_the_citys_authorization_in_force(api):
    task = _to_county(api, id_number(seq="111"))
    with api.db.sessions() as s, s.begin():
        for row in grants.get_all(s, actor=CITY):
            if row.kind == "survey":
                grants.revoke(s, actor=CITY, authorization_id=row.id)
    version = api.get(f"/tasks/{task}", "county1").json()["case_version"]
    refused = api.post(f"/tasks/{task}/complete", "county1", json=APPROVE, headers={"If-Match": str(version)})
    assert refused.status_code == 403 and refused.json()["code"] == "authorization.missing"
    assert "370102" in refused.json()["detail"]
    granted = api.post(
        "/authorizations",
        "city1",
        json={
            "kind": "survey",
            "county": "370102",
            "valid_from": (utcnow() - timedelta(minutes=1)).isoformat(),
        },
    )
    assert granted.status_code == 201, granted.text
    # Revoked again at once: the very next approval is refused.
    assert api.delete(f"/authorizations/{granted.json()['id']}", "city1").status_code == 200
    again = api.post(f"/tasks/{task}/complete", "county1", json=APPROVE, headers={"If-Match": str(version)})
    assert again.status_code == 403 and again.json()["code"] == "authorization.missing"
    future = api.post(
        "/authorizations",
        "city1",
        json={"kind": "survey", "county": "370102", "valid_from": (utcnow() + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 201
    not_yet = api.post(f"/tasks/{task}/complete", "county1", json=APPROVE, headers={"If-Match": str(version)})
    assert not_yet.status_code == 403
    api.post(
        "/authorizations",
        "city1",
        json={
            "kind": "survey",
            "county": "370102",
            "valid_from": (utcnow() - timedelta(minutes=1)).isoformat(),
        },
    )
    done = api.post(f"/tasks/{task}/complete", "county1", json=APPROVE, headers={"If-Match": str(version)})
    assert done.status_code == 200, done.text
