"""GET /api/v1/divisions, which feeds the division pickers: a division's children from the same index
the form validators use, names of given codes, and refusals naming the bad parameter."""

from ..engine.office import TOWNSHIP, VILLAGE


def test_children_narrow_from_provinces_to_villages(api):
    provinces = api.get("/divisions", "surveyor1").json()
    assert provinces["parent"] is None
    shandong = next(d for d in provinces["items"] if d["code"] == "37")
    assert shandong == {"code": "37", "name": "山东省", "level": "province", "path": "山东省", "leaf": False}
    villages = api.get("/divisions", "surveyor1", params={"parent": TOWNSHIP}).json()["items"]
    village = next(d for d in villages if d["code"] == VILLAGE)
    assert village["level"] == "village" and village["leaf"] is True
    assert village["path"] == "山东省济南市历下区解放路街道解放桥社区居民委员会"
    assert all(d["code"].startswith(TOWNSHIP) and len(d["code"]) == 12 for d in villages)


def test_names_of_codes_and_refusals(api):
    named = api.get("/divisions", "auditor1", params={"code": [VILLAGE, "3701", "999999"]}).json()["items"]
    assert [d["code"] for d in named] == [VILLAGE, "3701"]  # unknown codes are left out
    bad = api.get("/divisions", "auditor1", params={"code": ["37", "3x"]})
    assert bad.status_code == 422 and [e["pointer"] for e in bad.json()["errors"]] == ["/code/1"]
    both = api.get("/divisions", "auditor1", params={"code": "37", "parent": "37"})
    assert both.status_code == 422 and both.json()["errors"][0]["code"] == "divisions.query"
    assert api.get("/divisions", "auditor1", params={"parent": "379999"}).status_code == 404
    assert api.get("/divisions", "auditor1", params={"code": ["37"] * 201}).status_code == 422
    assert api.client.get("/api/v1/divisions").status_code == 401
