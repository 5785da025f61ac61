"""Reviewers' daily work over HTTP (issue 20): a returned task goes back to the surveyor who submitted it,
marked as returned; the reviewer of a resubmission sees what changed, field by field; a half-filled form
is kept as a draft per task and user; 已办 lists what a user completed."""

from __future__ import annotations

from ..engine.office import APPROVE, RETURN, id_number, registration


def _returned(api, person: str, submitter: str = "surveyor2") -> tuple[int, str]:
    case_id = api.start_survey(person)
    api.complete(submitter, case_id, registration(person, survey=_survey_by(submitter)))
    api.complete("platform1", case_id, RETURN)
    return case_id, api.task_of(case_id).task_guid


def _survey_by(user: str) -> dict:
    """The 采集信息 of a survey with the submitting surveyor listed first (both are in team 1)."""
    cards = {"surveyor1": ("李四", "DC0001"), "surveyor2": ("王五", "DC0002")}
    listed = [cards[user], *(c for u, c in cards.items() if u != user)]
    return {
        "channel": "survey",
        "team": "JFL-01",
        "surveyors": [{"name": n, "card_no": c} for n, c in listed],
        "date": "2026-11-20",
        "signed": True,
    }


def test_a_returned_task_goes_back_to_the_surveyor_who_submitted_it(api):
    case_id, task = _returned(api, id_number(seq="301"))
    row = api.task_of(case_id)
    assert (row.spec_name, row.assignee, row.returned_by) == ("survey", "surveyor2", "platform1")
    view = api.get(f"/tasks/{task}", "surveyor2").json()
    assert view["assignee"] == "surveyor2" and view["returned_by"] == "platform1"
    # in the submitter's "mine" list, not in the pool; a teammate cannot take it over
    mine = api.get("/tasks", "surveyor2", params={"status": "mine"}).json()["items"]
    assert [t["id"] for t in mine] == [task] and mine[0]["returned_by"] == "platform1"
    assert api.get("/tasks", "surveyor1", params={"status": "open"}).json()["items"] == []
    assert api.post(f"/tasks/{task}/claim", "surveyor1").status_code == 409
    # the review opened by the resubmission is a new task for the pool, not marked returned
    api.complete("surveyor2", case_id, registration(id_number(seq="301"), survey=_survey_by("surveyor2")))
    review = api.task_of(case_id)
    assert (review.assignee, review.returned_by) == (None, None)


def test_the_reviewer_sees_what_changed_since_the_last_submission(api):
    person = id_number(seq="303")
    case_id, _ = _returned(api, person)
    review_before = api.task_of(case_id)  # (the survey task now; its own changes list is empty)
    assert api.get(f"/tasks/{review_before.task_guid}/changes", "surveyor2").json()["changes"] == []
    changed = registration(
        person,
        phone="13805310001",
        employment={"status": "12"},
        survey=_survey_by("surveyor2"),
    )
    api.complete("surveyor2", case_id, changed)
    review = api.task_of(case_id).task_guid
    body = api.get(f"/tasks/{review}/changes", "platform1").json()
    assert body["form"] == "registration" and body["submitted_by"] == "surveyor2"
    assert body["previous_at"] is not None
    by_pointer = {c["pointer"]: c for c in body["changes"]}
    assert set(by_pointer) == {"/phone", "/employment/status", "/employment/employer"}
    status = by_pointer["/employment/status"]
    assert status["title"] == "就业情况 / 就业状态"
    assert (status["old"], status["new"]) == ("11", "12")
    assert status["new_text"] == "灵活就业"
    assert by_pointer["/employment/employer"]["new"] is None
    # reading it is a read of the person's data
    read = [e for e in api.events("person.read") if e.payload_json.get("purpose") == "changes"]
    assert read and read[-1].actor_sub == "platform1"
    # a first submission has nothing to compare with
    first = api.start_survey(id_number(seq="305"))
    api.complete("surveyor1", first, registration(id_number(seq="305")))
    body = api.get(f"/tasks/{api.task_of(first).task_guid}/changes", "platform1").json()
    assert body["changes"] == [] and body["previous_at"] is None


def test_a_draft_is_saved_resumed_audited_and_gone_once_submitted(api):
    person = id_number(seq="307")
    case_id = api.start_survey(person)
    task = api.task_of(case_id).task_guid
    assert api.get(f"/tasks/{task}/draft", "surveyor1").status_code == 404
    half = {"name": "张三", "phone": "13805310000"}
    saved = api.put(f"/tasks/{task}/draft", "surveyor1", json=half)
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"] == half
    assert api.get(f"/tasks/{task}/draft", "surveyor1").json()["data"] == half
    # one's own: a teammate has none, other lanes and areas cannot reach it
    assert api.get(f"/tasks/{task}/draft", "surveyor2").status_code == 404
    assert api.put(f"/tasks/{task}/draft", "platform1", json=half).status_code == 403
    assert api.get(f"/tasks/{task}/draft", "platform9").status_code == 404
    assert api.put(f"/tasks/{task}/draft", "surveyor1", json=[1]).status_code == 422
    actions = [e.action for e in api.events() if e.case_id == case_id]
    assert "task.draft_save" in actions
    assert any(
        e.payload_json.get("purpose") == "draft" for e in api.events("person.read") if e.case_id == case_id
    )
    api.complete("surveyor1", case_id, registration(person))
    assert api.get(f"/tasks/{task}/draft", "surveyor1").status_code == 404


def test_done_lists_what_the_user_completed_newest_first(api):
    people = [id_number(seq=f"{n}") for n in (311, 313)]
    cases = []
    for person in people:
        case_id = api.start_survey(person)
        api.complete("surveyor1", case_id, registration(person))
        cases.append(case_id)
    api.complete("platform1", cases[0], APPROVE)
    done = api.get("/tasks/done", "surveyor1").json()["items"]
    assert [(t["case_id"], t["task"], t["state"]) for t in done] == [
        (cases[1], "survey", "completed"),
        (cases[0], "survey", "completed"),
    ]
    assert done[0]["completed_at"] is not None
    assert [t["case_id"] for t in api.get("/tasks/done", "platform1").json()["items"]] == [cases[0]]
    assert api.get("/tasks/done", "surveyor2").json()["items"] == []
    page = api.get("/tasks/done", "surveyor1", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next"]
    rest = api.get("/tasks/done", "surveyor1", params={"limit": 1, "after": page["next"]}).json()
    assert [t["case_id"] for t in rest["items"]] == [cases[0]]


def test_audit_events_name_their_person_and_case_and_the_names_shown_are_reads(api):
    person = id_number(seq="315")
    case_id = api.start_survey(person)
    api.complete("surveyor1", case_id, registration(person))
    items = api.get("/audit/events", "auditor1", params={"case_id": case_id}).json()["items"]
    assert items and all(e["case_process"] == "入户调查登记" for e in items)
    assert {e["person_name"] for e in items if e["person_id"]} == {"赵某"}  # as the registry has them
    reads = [e for e in api.events("person.read") if e.actor_sub == "auditor1"]
    assert [e.payload_json["purpose"] for e in reads] == ["audit"] and reads[0].case_id == case_id
