"""Who can be registered (规程第三、八条): every 证件类型 the 登记表 offers yields the person's
社会保障号码 by a declared rule, and each numbering scheme is checked by its own rule and error codes."""

import pytest

import forms
from forms import codes
from forms.idnumber import check_char

from ..holders import ASSIGNED, HOLDERS, HONG_KONG, PERMANENT_RESIDENT, TAIWAN, gb
from .helpers import errors

OFFERED = sorted(codes.get("id_type").values())


def test_every_offered_id_type_has_a_holder_here():
    assert sorted(HOLDERS) == OFFERED


@pytest.mark.parametrize("id_type", OFFERED)
def test_the_form_of_every_offered_id_type_is_valid_and_names_its_social_security_number(id_type):
    holder = HOLDERS[id_type]
    form = holder.form()
    assert forms.validate("registration", form) == []
    found = forms.identity("registration", form)
    assert (found.id_number, found.id_type) == (holder.key, id_type)


def test_the_documents_that_are_not_the_key_need_the_social_security_number():
    for id_type in ("02", "03", "04", "05", "06", "08", "10", "11", "12", "13", "14", "15", "99"):
        form = HOLDERS[id_type].form()
        del form["ss_number"]
        assert errors("registration", form) == {("/ss_number", "ss_number.required")}, id_type


def test_a_resident_id_card_is_checked_by_gb_11643():
    holder = HOLDERS["01"]
    bad = holder.key[:17] + ("0" if holder.key[17] != "0" else "1")
    assert errors("registration", holder.form(id_number=bad)) == {("/id_number", "id_number.checksum")}
    # A 居住证 or a 永居证 number is not the number of a 居民身份证.
    assert errors("registration", HOLDERS["04"].form(id_type="01", id_number=HONG_KONG)) >= {
        ("/id_number", "id_number.hmt_permit")
    }
    assert errors("registration", HOLDERS["07"].form(id_type="01")) >= {("/id_number", "id_number.prc_card")}
    # The key may be written again as the 社会保障号码, but not another one.
    assert forms.validate("registration", holder.form(ss_number=holder.key)) == []
    other = gb("370102", "19900101", "303")
    assert errors("registration", holder.form(ss_number=other)) == {("/ss_number", "ss_number.mismatch")}


def test_a_residence_permit_number_is_checked_by_its_own_rule():
    holder = HOLDERS["04"]
    bad = HONG_KONG[:17] + ("0" if HONG_KONG[17] != "0" else "1")
    assert errors("registration", holder.form(ss_number=bad)) == {("/ss_number", "hmt_id.checksum")}
    # 830000 is the address code of 台湾居民: not the 居住证 of a 香港 resident.
    assert errors("registration", holder.form(ss_number=TAIWAN)) >= {("/ss_number", "ss_number.region")}
    assert errors("registration", holder.form(ss_number=HONG_KONG[:6] + "19941323002X")) >= {
        ("/ss_number", "hmt_id.birth_date")
    }


def test_a_permanent_residence_card_of_2023_is_checked_by_its_own_rule():
    holder = HOLDERS["07"]
    bad = PERMANENT_RESIDENT[:17] + "8"
    assert errors("registration", holder.form(id_number=bad)) == {("/id_number", "prc_id.checksum")}
    body = "996" + PERMANENT_RESIDENT[3:17]  # 96 is no province
    province = body + check_char(body)
    assert ("/id_number", "prc_id.province") in errors("registration", holder.form(id_number=province))
    # Born 1985-01-01 and male, as the number says.
    assert errors("registration", holder.form(birth_date="1985-01-02")) == {
        ("/birth_date", "birth_date.mismatch")
    }
    assert errors("registration", holder.form(sex="2")) == {("/sex", "sex.mismatch")}


def test_an_older_permanent_residence_card_needs_the_assigned_number():
    old = HOLDERS["07"].form(id_number="SAU320085010101")  # 3 letters + 12 digits (2017年版 and earlier)
    assert errors("registration", old) == {("/ss_number", "ss_number.required")}
    assert forms.validate("registration", old | {"ss_number": ASSIGNED[0]}) == []
    assert forms.identity("registration", old | {"ss_number": ASSIGNED[0]}).id_number == ASSIGNED[0]
    assert errors("registration", HOLDERS["07"].form(id_number="E12345678")) == {
        ("/id_number", "prc_id.format")
    }


def test_a_disability_certificate_holds_the_resident_id_number():
    holder = HOLDERS["09"]
    assert errors("registration", holder.form(id_number=holder.key + "82")) == {
        ("/id_number", "disability_card.format")  # 类别 8 does not exist (1–7)
    }
    bad = holder.key[:17] + ("0" if holder.key[17] != "0" else "1") + "42"
    assert errors("registration", holder.form(id_number=bad)) == {("/id_number", "disability_card.checksum")}
    assert errors("registration", holder.form(sex="1")) == {("/sex", "sex.mismatch")}


def test_a_citizen_document_needs_the_resident_id_number():
    holder = HOLDERS["02"]
    assert errors("registration", holder.form(ss_number=ASSIGNED[0])) == {("/ss_number", "ss_number.citizen")}
    assert errors("registration", holder.form(ss_number=HONG_KONG)) == {("/ss_number", "ss_number.citizen")}
    bad = holder.key[:17] + ("0" if holder.key[17] != "0" else "1")
    assert errors("registration", holder.form(ss_number=bad)) == {("/ss_number", "id_number.checksum")}


def test_a_foreigner_has_no_resident_id_number():
    holder = HOLDERS["08"]
    resident = gb("370102", "19880601", "311")
    assert errors("registration", holder.form(ss_number=resident)) == {("/ss_number", "ss_number.foreigner")}
    assert (
        forms.validate("registration", holder.form(ss_number=PERMANENT_RESIDENT, birth_date="1985-01-01"))
        == []
    )


def test_an_assigned_number_is_checked_for_its_form():
    holder = HOLDERS["08"]
    for bad in ("ZZ370102", "ZZ37010200000000011", "zz-3701020000000001", "370102199001011234"[:17] + "Y"):
        assert ("/ss_number", "ss_number.format") in errors("registration", holder.form(ss_number=bad)), bad
    # Written in lower case or full-width, it is the same number.
    found = forms.identity("registration", holder.form(ss_number=" " + ASSIGNED[0].lower()))
    assert found.id_number == ASSIGNED[0]
    normal = forms.normalize("registration", holder.form(ss_number="ＺＺ3701020000000001"))
    assert normal["ss_number"] == ASSIGNED[0]


def test_hukou_is_required_of_citizens_only():
    form = HOLDERS["01"].form()
    del form["hukou"]
    assert errors("registration", form) == {("/hukou", "hukou.required")}
    assert forms.validate("registration", HOLDERS["08"].form()) == []


def test_a_change_request_names_the_person_by_their_social_security_number():
    change = {
        "id_number": ASSIGNED[0],
        "changes": [{"field": "/phone", "new": "13900000000"}],
        "reason": "换号",
    }
    assert forms.validate("change_request", change) == []
    assert forms.identity("change_request", change).id_number == ASSIGNED[0]
    assert errors("change_request", change | {"id_number": PERMANENT_RESIDENT[:17] + "8"}) == {
        ("/id_number", "prc_id.checksum")
    }


def test_an_assigned_number_is_masked_in_text_as_a_resident_id_number_is():
    from forms import personal

    assert (
        personal.mask_text(f"人员 {ASSIGNED[0]} 已入库")
        == f"人员 {ASSIGNED[0][:6]}********{ASSIGNED[0][-4:]} 已入库"
    )
    assert personal.mask_text("ABCDEFGHIJKLMNOPQR") == "ABCDEFGHIJKLMNOPQR"  # no digit: a word, not a number
    assert personal.mask({"person_id": PERMANENT_RESIDENT})["person_id"] == "932682********0017"
