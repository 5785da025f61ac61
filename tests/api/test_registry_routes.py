"""Imports, comparison and survey planning over HTTP, ending with survey cases opened for a team."""

import io
import zipfile

from ..engine.office import COUNTY, VILLAGE, id_number

HEADER_P = "公民身份号码,姓名,性别,出生日期,户籍地区划,户籍地址,管理状态\n"
HEADER_E = "公民身份号码,姓名,险种,参保状态,缴费状态,参保地,参保日期\n"


def _population(people: list[str]) -> bytes:
    rows = [
        f"{p},居民{i},{'男' if int(p[16]) % 2 else '女'},{p[6:10]}-{p[10:12]}-{p[12:14]},{VILLAGE},"
        f"解放路{i}号,正常"
        for i, p in enumerate(people)
    ]
    return (HEADER_P + "\n".join(rows) + "\n").encode()


def _import(api, kind: str, content: bytes, system: str | None = None):
    data = {"kind": kind} | ({"system": system} if system else {})
    return api.post("/imports", "county1", files={"file": (f"{kind}.csv", content, "text/csv")}, data=data)


def test_import_compare_plan_and_open_cases(api):
    insured, uninsured = id_number(seq="501"), id_number(seq="503")
    r = _import(api, "population", _population([insured, uninsured]) + b"123,bad,row,,,,\n")
    assert r.status_code == 201, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (2, 1)
    rejected = api.get(f"/imports/{r.json()['id']}/rejections.csv", "county1")
    assert rejected.status_code == 200 and "id_number" in rejected.text
    assert _import(api, "population", _population([insured, uninsured]) + b"123,bad,row,,,,\n").json()[
        "repeated"
    ]
    enrollments = (
        HEADER_E
        + f"{insured},居民0,390,1,1,{COUNTY},2020-01-01\n{insured},居民0,170,1,1,{COUNTY},2020-01-01\n"
    )
    assert _import(api, "enrollments", enrollments.encode(), system="ylbx").status_code == 201

    run = api.post("/comparisons", "county1", json={"area": COUNTY}).json()
    assert run["counts"], run
    assert api.get(f"/comparisons/{run['id']}", "county1").json()["id"] == run["id"]
    assert api.get(f"/comparisons/{run['id']}", "platform9").status_code in (403, 404)

    lists = api.get("/survey-lists", "platform1", params={"area": VILLAGE[:9]}).json()
    assert sum(v.get("persons", 0) for v in lists) >= 1, lists
    first = api.post(f"/survey-lists/{VILLAGE[:9]}/cases", "platform1", json={"team_id": 1})
    assert first.status_code == 201, first.text
    assert first.json()["opened"] >= 1
    again = api.post(f"/survey-lists/{VILLAGE[:9]}/cases", "platform1", json={"team_id": 1}).json()
    assert again["opened"] == 0
    tasks = api.get("/tasks", "surveyor1").json()["items"]
    assert {t["person_id"] for t in tasks} >= {uninsured}
    detail = api.get(f"/tasks/{tasks[0]['id']}", "surveyor1").json()
    assert (
        detail["data"]["registration"]["id_number"] == tasks[0]["person_id"]
    )  # pre-filled from the registry

    pdf = api.get(f"/survey-lists/{VILLAGE}/registration.pdf", "platform1")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = api.get(f"/survey-lists/{VILLAGE}/summary.xlsx", "platform1")
    assert (
        xlsx.status_code == 200 and "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(xlsx.content)).namelist()
    )


def test_registry_routes_refuse_wrong_roles(api):
    assert api.post("/comparisons", "surveyor1", json={"area": COUNTY}).status_code == 403
    assert api.post(f"/survey-lists/{VILLAGE[:9]}/cases", "surveyor1", json={"team_id": 1}).status_code == 403
    assert _import(api, "population", _population([id_number(seq="505")])).status_code == 201
    assert (
        api.post(
            "/imports", "auditor1", files={"file": ("p.csv", b"x", "text/csv")}, data={"kind": "population"}
        ).status_code
        == 403
    )
