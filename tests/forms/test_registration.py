"""The rules of the 全民参保登记表, each shown to fire and shown not to fire."""

import copy

import pytest

import forms
from forms import examples

from .helpers import REMOVE, at, errors, reg

MINOR = examples.REGISTRATION_MINOR


def test_the_examples_are_valid():
    assert forms.validate("registration", reg()) == []
    assert forms.validate("registration", MINOR) == []


# -- identity ----------------------------------------------------------------------------------------------


def test_sex_must_agree_with_the_id_number():
    assert errors("registration", reg(sex="2")) == {("/sex", "sex.mismatch")}
    assert errors("registration", reg(sex="9")) == {("/sex", "sex.mismatch")}


def test_birth_date_must_agree_with_the_id_number():
    assert errors("registration", reg(birth_date="1990-01-02")) == {("/birth_date", "birth_date.mismatch")}


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("370102199001011234", "id_number.checksum"),
        ("37010219900101123", "id_number.format"),
        ("370102199013011231", "id_number.birth_date"),
        ("3701021990010112４1", "id_number.checksum"),
    ],
)
def test_a_bad_resident_id_is_named_and_the_dependent_checks_are_skipped(number, code):
    assert errors("registration", reg(id_number=number)) == {("/id_number", code)}


def test_full_width_and_15_digit_numbers_are_accepted_and_normalised():
    wide = reg(id_number="３７０１０２１９９００１０１１２３１")
    assert forms.validate("registration", wide) == []
    assert forms.normalize("registration", wide)["id_number"] == "370102199001011231"
    old = reg(id_number="370102900101123", birth_date="1990-01-01")
    assert forms.validate("registration", old) == []
    assert forms.normalize("registration", old)["id_number"] == "370102199001011231"


def test_an_abolished_address_code_in_an_id_number_is_accepted():
    doc = reg(id_number="440524188001010014", birth_date="1880-01-01", sex="1")
    assert forms.validate("registration", doc) == []


def test_other_id_types_are_not_checked_as_resident_ids():
    """A passport number is not a 公民身份号码: the holder is keyed by the 社会保障号码 the form carries
    (tests/forms/test_id_types.py has the rule of every 证件类型)."""
    doc = reg(
        id_type="08", id_number="E12345678", ss_number="ZZ3701020000000001", sex="2", birth_date="1985-05-05"
    )
    assert forms.validate("registration", doc) == []
    assert errors("registration", reg(id_type="08", id_number="E123<45")) == {
        ("/id_number", "id_number.format")
    }


# -- names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["张三", "欧阳娜娜", "阿依古丽·买买提", "阿依古丽•买买提", "JOHN SMITH", "Anne-Marie O"]
)
def test_names_that_are_accepted(name):
    assert forms.validate("registration", reg(name=name)) == []


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("<script>alert(1)</script>", "name.markup"),
        ("张三&#60;", "name.markup"),
        ("Robert'); DROP TABLE person;--", "name.sql"),
        ("张三 OR 1=1", "name.sql"),
        ("x UNION SELECT id", "name.sql"),
        ("张三3", "name.format"),
        ("张 三", "name.format"),
        ("·张三", "name.format"),
        ("张", "name.too_short"),
        ("", "field.empty"),
        ("张" * 51, "field.too_long"),
        ("张\u200b三", "field.control_chars"),
    ],
)
def test_names_that_are_refused_say_why(name, code):
    assert errors("registration", reg(name=name)) == {("/name", code)}


def test_name_dots_are_normalised_to_the_standard_middle_dot():
    assert forms.normalize("registration", reg(name="阿依古丽・买买提"))["name"] == "阿依古丽·买买提"


# -- phones ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["13800000000", "19912345678", "0531-86000000", "010-12345678", "0531-8600000-123"]
)
def test_phones_that_are_accepted(phone):
    assert forms.validate("registration", reg(phone=phone)) == []


@pytest.mark.parametrize(
    "phone",
    [
        "12800000000",
        "1380000000",
        "138000000001",
        "053186000000",
        "0531-06000000",
        "+8613800000000",
        "１３８００００００００",
    ],
)
def test_phones_that_are_refused(phone):
    assert errors("registration", reg(phone=phone)) == {("/phone", "phone.format")}


# -- divisions ---------------------------------------------------------------------------------------------


def test_hukou_and_residence_must_be_existing_villages():
    assert errors("registration", at(reg(), "/hukou/division", "370102001999")) == {
        ("/hukou/division", "division.unknown")
    }
    assert errors("registration", at(reg(), "/residence/division", "370102001000")) == {
        ("/residence/division", "division.level")
    }
    assert errors("registration", at(reg(), "/hukou/division", "3701020010")) == {
        ("/hukou/division", "division.format")
    }
    assert errors("registration", at(reg(), "/hukou/division", "37010200100A")) == {
        ("/hukou/division", "division.format")
    }
    assert errors("registration", at(reg(), "/hukou/division", "999999001001")) == {
        ("/hukou/division", "division.unknown")
    }


def test_unknown_division_message_names_the_code_and_its_existing_parent():
    (error,) = forms.validate("registration", at(reg(), "/hukou/division", "370102001999"))
    assert "370102001999" in error.message and "解放路街道" in error.message


def test_a_village_in_a_county_without_village_data_is_checked_to_its_township():
    # 110105 朝阳区: its townships are shipped, its villages are not
    assert forms.validate("registration", at(reg(), "/hukou/division", "110105001001")) == []
    assert errors("registration", at(reg(), "/hukou/division", "110105999001")) == {
        ("/hukou/division", "division.unknown")
    }


@pytest.mark.parametrize("place", ["370102", "370100", "370000", "110101"])
def test_insurance_place_accepts_county_city_and_province_codes(place):
    assert forms.validate("registration", at(reg(), "/insurance/0/place", place)) == []


@pytest.mark.parametrize("place", ["370199", "379900", "990000", "3701", "370102001"])
def test_insurance_place_refuses_unknown_or_malformed_codes(place):
    assert len(forms.validate("registration", at(reg(), "/insurance/0/place", place))) == 1


# -- required-if rules -------------------------------------------------------------------------------------


def test_uninsured_reason_is_required_when_no_scheme_is_active():
    inactive = at(at(reg(), "/insurance/0/status", "4"), "/insurance/1/status", "2")
    assert errors("registration", inactive) == {("/uninsured_reason", "uninsured_reason.required")}
    assert errors("registration", reg(insurance=[])) == {("/uninsured_reason", "uninsured_reason.required")}
    assert forms.validate("registration", {**inactive, "uninsured_reason": {"code": "01"}}) == []
    # one active scheme is enough
    assert forms.validate("registration", at(reg(), "/insurance/0/status", "4")) == []


def test_other_uninsured_reason_needs_a_text():
    doc = reg(insurance=[], uninsured_reason={"code": "99"})
    assert errors("registration", doc) == {("/uninsured_reason/text", "uninsured_reason.text_required")}
    assert (
        forms.validate(
            "registration", reg(insurance=[], uninsured_reason={"code": "99", "text": "常年外出务工"})
        )
        == []
    )


def test_a_guardian_is_required_under_16_at_the_survey_date():
    no_guardian = {k: v for k, v in MINOR.items() if k != "guardian"}
    assert errors("registration", no_guardian) == {("/guardian", "guardian.required")}
    # born 2015-06-01: 16 on 2031-06-01; the survey date decides, not today
    assert ("/guardian", "guardian.required") in errors(
        "registration", at(no_guardian, "/survey/date", "2025-06-18")
    )
    adult = reg()
    assert "guardian" not in adult and forms.validate("registration", adult) == []


def test_age_16_exactly_needs_no_guardian():
    doc = reg(id_number="370102200906180027", birth_date="2009-06-18", sex="2")
    doc["employment"] = {"status": "22"}
    assert forms.validate("registration", doc) == []  # survey date 2025-06-18: 16th birthday
    assert errors("registration", at(doc, "/survey/date", "2025-06-17")) == {
        ("/guardian", "guardian.required")
    }


def test_the_guardian_id_is_checked_and_is_not_the_person():
    assert errors("registration", at(MINOR, "/guardian/id_number", "370102198808083216")) == {
        ("/guardian/id_number", "id_number.checksum")
    }
    assert errors("registration", at(MINOR, "/guardian/id_number", MINOR["id_number"])) == {
        ("/guardian/id_number", "guardian.self")
    }
    passport = at(at(MINOR, "/guardian/id_type", "08"), "/guardian/id_number", "P1234567")
    assert forms.validate("registration", passport) == []


def test_employer_is_required_for_unit_employment():
    assert errors("registration", at(reg(), "/employment", {"status": "11"})) == {
        ("/employment/employer", "employment.employer_required")
    }
    assert forms.validate("registration", at(reg(), "/employment", {"status": "12"})) == []


# -- survey provenance -------------------------------------------------------------------------------------


def test_a_household_survey_needs_two_or_three_surveyors():
    one = at(reg(), "/survey/surveyors/1", REMOVE)
    assert errors("registration", one) == {("/survey/surveyors", "survey.surveyors_count")}
    three = copy.deepcopy(reg())
    three["survey"]["surveyors"].append({"name": "赵六", "card_no": "DC370102003"})
    assert forms.validate("registration", three) == []
    four = copy.deepcopy(three)
    four["survey"]["surveyors"].append({"name": "钱七", "card_no": "DC370102004"})
    assert errors("registration", four) == {("/survey/surveyors", "survey.surveyors_count")}


def test_counter_collection_needs_no_survey_team():
    assert (
        forms.validate("registration", at(reg(), "/survey", {"channel": "counter", "date": "2025-06-18"}))
        == []
    )


def test_a_household_survey_needs_team_surveyors_and_the_signature():
    bare = at(reg(), "/survey", {"channel": "survey", "date": "2025-06-18"})
    assert errors("registration", bare) == {
        ("/survey/team", "survey.required"),
        ("/survey/surveyors", "survey.required"),
        ("/survey/signed", "survey.required"),
    }
    assert errors("registration", at(reg(), "/survey/signed", False)) == {
        ("/survey/signed", "survey.unsigned")
    }


def test_a_scheme_is_listed_once_per_place():
    twice = at(reg(), "/insurance/1/scheme", "110")
    assert errors("registration", twice) == {("/insurance/1/scheme", "insurance.duplicate")}
    elsewhere = at(twice, "/insurance/1/place", "370200")
    assert forms.validate("registration", elsewhere) == []


def test_a_surveyor_is_listed_once():
    doc = at(reg(), "/survey/surveyors/1/card_no", "DC370102001")
    assert errors("registration", doc) == {("/survey/surveyors/1/card_no", "survey.surveyor_duplicate")}


# -- dates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pointer"), ["/survey/date", "/insurance/0/first_date"])
def test_dates_cannot_be_in_the_future(pointer):
    assert errors("registration", at(reg(), pointer, "2999-01-01")) == {(pointer, "date.future")}


@pytest.mark.parametrize("value", ["2015-02-30", "2015-3-1", "20150301", "2015/03/01", "2015-03-01T00:00"])
def test_malformed_dates(value):
    assert errors("registration", at(reg(), "/insurance/0/first_date", value)) == {
        ("/insurance/0/first_date", "date.format")
    }


def test_first_enrollment_cannot_precede_birth():
    assert errors("registration", at(reg(), "/insurance/1/first_date", "1989-12-31")) == {
        ("/insurance/1/first_date", "insurance.first_date_before_birth")
    }


# -- many errors at once -----------------------------------------------------------------------------------


def test_every_error_is_reported_not_only_the_first():
    doc = reg(sex="2", phone="1", ethnicity="00", nickname="x", insured_elsewhere="no")
    doc = at(doc, "/hukou/division", "370102001999")
    doc = at(doc, "/insurance/0/scheme", "999")
    doc = at(doc, "/survey/surveyors/0/name", "<b>")
    doc = at(doc, "/residence", REMOVE)
    assert errors("registration", doc) == {
        ("/sex", "sex.mismatch"),
        ("/phone", "phone.format"),
        ("/ethnicity", "code.unknown"),
        ("/nickname", "field.unknown"),
        ("/insured_elsewhere", "field.type"),
        ("/hukou/division", "division.unknown"),
        ("/insurance/0/scheme", "code.unknown"),
        ("/survey/surveyors/0/name", "name.markup"),
        ("/residence", "field.required"),
    }
    assert all(e.message for e in forms.validate("registration", doc))
