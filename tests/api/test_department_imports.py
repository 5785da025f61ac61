"""Department files over HTTP (issue 19): the upload route takes the new kinds (GBK too), refuses wrong
roles, rejects rows outside the importer's area, records audit events, and shows formats and precedence."""

from forms.idnumber import check_char

from ..engine.office import id_number
from .conftest import population

DEATHS = "公民身份号码,姓名,死亡日期\n"


def _upload(api, user: str, kind: str, content: bytes):
    return api.post(
        "/imports", user, files={"file": (f"{kind}.csv", content, "text/csv")}, data={"kind": kind}
    )


def test_department_files_upload_with_area_and_audit(api):
    mine, theirs = id_number(seq="601"), "37010319900101123" + check_char("37010319900101123")
    api.population(mine)
    population(api.db, theirs, division="370103002001")
    content = (
        DEATHS + f"{mine},赵某,2026-03-01\n{theirs},赵某,2026-03-01\n{mine}X,赵某,2099-01-01\n"
    ).encode("gbk")
    r = _upload(api, "county1", "deaths_civil", content)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["system"], body["accepted"], body["rejected"], body["updated"]) == (
        "deaths_civil",
        "民政",
        1,
        2,
        1,
    )
    assert (body["outranked"], body["persons_added"]) == (0, 0)
    rejected = api.get(f"/imports/{body['id']}/rejections.csv", "county1")
    assert rejected.status_code == 200 and "area.outside" in rejected.text
    assert [e.object_id for e in api.events("import.apply")][-1] == str(body["id"])
    assert _upload(api, "county1", "deaths_civil", content).json()["repeated"]
    listed = api.get("/imports", "county1", params={"kind": "deaths_civil"}).json()
    assert [i["id"] for i in listed] == [body["id"]]
    history = api.get(f"/persons/{mine}/history", "county1").json()
    assert {(h["field"], h["new"], h["import_id"], h["system"]) for h in history} >= {
        ("/status", "dead", body["id"], "民政"),
        ("/death_date", "2026-03-01", body["id"], "民政"),
    }
    assert all(h["at"] for h in history)


def test_wrong_roles_and_kinds_are_refused(api):
    assert _upload(api, "surveyor1", "students", b"x").status_code == 403
    assert _upload(api, "auditor1", "cards", b"x").status_code == 403
    bad = _upload(api, "county1", "weather", b"x")
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"].endswith("kind")
    missing = _upload(api, "county1", "births", "公民身份号码,姓名\n".encode())
    assert missing.status_code == 422 and missing.json()["errors"][0]["code"] == "file.columns"
    assert api.get("/imports", "county1", params={"kind": "births"}).json() == []
    assert api.get("/imports/precedence", "surveyor1").status_code == 403
    assert api.get("/imports/formats", "auditor1").status_code == 403


def test_precedence_and_formats_are_shown(api):
    table = api.get("/imports/precedence", "county1")
    assert table.status_code == 200
    fields = {f["field"]: f["sources"] for f in table.json()["fields"]}
    assert fields["/status"] == ["卫健", "民政", "登记库"]
    assert fields["/name"][0] == "登记库" and fields["/card/number"] == ["社保卡"]
    assert {s["source"] for s in table.json()["sources"]} >= {"民政", "卫健", "教育", "就业", "社保卡"}
    formats = {f["kind"]: f for f in api.get("/imports/formats", "city1").json()}
    assert set(formats) == {
        "deaths_civil",
        "deaths_health",
        "births",
        "assistance",
        "students",
        "employment",
        "cards",
    }
    grade = next(c for c in formats["students"]["columns"] if c["key"] == "grade")
    assert grade["mapped"]["高三"] == "12" and grade["codes"]["12"] == "高中三年级"
