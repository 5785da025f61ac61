"""The demo's citizens: two persons of the population get local accounts named by their 公民身份号码, one
with open flags (something to be reminded of) and one without, and can read their own record."""

from canbao.actors import Actor
from composition import demo_citizens
from registry import comparison, imports

from ..engine.office import COUNTY, id_number
from ..registry.helpers import ENR_HEADER, csv_bytes, enr_row
from .conftest import PASSWORD, SYSTEM, population


def test_demo_citizens_sign_in_and_read_their_own_record(api):
    flagged, clean = id_number(seq="801"), id_number(seq="803")
    population(api.db, flagged, clean)
    insured = csv_bytes(ENR_HEADER, [enr_row(clean, "110"), enr_row(clean, "310")])
    with api.db.sessions() as s, s.begin():
        imports.import_file(
            s, actor=SYSTEM, kind="enrollments", system="社保", filename="e.csv", content=insured
        )
        comparison.run(s, actor=SYSTEM, area=COUNTY)
    demo = Actor(sub="demo", roles=("system",), area="")
    with api.db.sessions() as s, s.begin():
        created = demo_citizens.add(s, actor=demo, password=PASSWORD, area=COUNTY)
    assert created == [flagged, clean]
    with api.db.sessions() as s, s.begin():
        assert demo_citizens.add(s, actor=demo, password=PASSWORD, area=COUNTY) == []  # once only
    for number, flag_reminded in ((flagged, True), (clean, False)):
        record = api.get("/me/registration", number)
        assert record.status_code == 200 and record.json()["person_id"] == number
        assert any(i["code"] == "uninsured" for i in record.json()["items"]) is flag_reminded
