"""Holders of other documents over HTTP: registered under their 社会保障号码 through a survey case, found by
it or by their document, and every bad number answered 4xx naming the field and the rule."""

from ..engine.office import APPROVE
from ..holders import HOLDERS, PERMANENT_RESIDENT


def _register(api, id_type: str) -> int:
    holder = HOLDERS[id_type]
    case_id = api.start_survey(None)
    api.complete("surveyor1", case_id, holder.form())
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    return case_id


def test_a_disability_certificate_holder_is_registered_over_http(api):
    """Found: the 20-character 残疾人证 number was taken as the case's person (a key of 18) and the survey
    answered 500."""
    holder = HOLDERS["09"]
    case_id = _register(api, "09")
    record = api.get(f"/persons/{holder.key}", "county1").json()
    assert (record["id_type"], record["id_number"], record["ss_number"]) == (
        "09",
        holder.document,
        holder.key,
    )
    assert api.get(f"/cases/{case_id}", "county1").json()["person_id"] == holder.key


def test_a_foreigner_is_registered_and_found_by_either_number(api):
    holder = HOLDERS["08"]
    case_id = _register(api, "08")
    record = api.get(f"/persons/{holder.key}", "county1").json()
    assert (record["id_type"], record["id_number"], record["name"]) == ("08", holder.document, holder.name)
    found = api.get("/persons", "county1", params={"id_type": "08", "id_number": holder.document.lower()})
    assert found.status_code == 200, found.text
    assert [(p["person_id"], p["ss_number"]) for p in found.json()["items"]] == [(holder.key, holder.key)]
    assert api.get("/persons", "county1", params={"id_type": "11", "id_number": holder.document}).json() == {
        "items": []
    }
    # Masked for a role that does not need it in full, as a 公民身份号码 is.
    masked = api.get(f"/persons/{holder.key}", "auditor1").json()
    assert masked["ss_number"] == holder.key[:6] + "********" + holder.key[-4:]
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/history", "/audit/events"):
        shown = api.get(path, "auditor1")
        assert shown.status_code == 200 and holder.key[:6] + "********" in shown.text, path
        assert holder.key not in shown.text and holder.document not in shown.text, path
    cases = api.get("/cases", "county1", params={"person_id": holder.key})
    assert cases.status_code == 200 and len(cases.json()["items"]) == 1


def test_a_case_is_started_for_a_registered_permanent_resident(api):
    _register(api, "07")
    r = api.post(
        "/cases", "counter1", json={"process": "counter_collection", "person_id": PERMANENT_RESIDENT}
    )
    assert r.status_code == 201, r.text
    assert r.json()["person_id"] == PERMANENT_RESIDENT


def test_bad_numbers_are_answered_4xx_naming_the_field_and_the_rule(api):
    bad = PERMANENT_RESIDENT[:17] + "8"
    for path, pointer in (
        (f"/persons/{bad}", "/path/id_number"),
        (f"/persons/{bad}/missing", "/path/id_number"),
    ):
        r = api.get(path, "county1")
        assert r.status_code == 422, r.text
        assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [(pointer, "prc_id.checksum")]
    r = api.post("/cases", "counter1", json={"process": "counter_collection", "person_id": bad})
    assert r.status_code == 422
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("/person_id", "prc_id.checksum")]
    r = api.get("/cases", "county1", params={"person_id": bad})
    assert r.status_code == 422
    r = api.get("/persons", "county1", params={"id_type": "07", "id_number": bad})
    assert r.status_code == 422
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        ("/query/id_number", "prc_id.checksum")
    ]
    # A survey form whose 社会保障号码 is missing is refused at the task, before anything is bound.
    case_id = api.start_survey(None)
    form = HOLDERS["08"].form()
    del form["ss_number"]
    task = api.task_of(case_id)
    version = api.get(f"/tasks/{task.task_guid}", "surveyor1").json()["case_version"]
    r = api.post(
        f"/tasks/{task.task_guid}/complete", "surveyor1", json=form, headers={"If-Match": str(version)}
    )
    assert r.status_code == 422
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("/ss_number", "ss_number.required")]
