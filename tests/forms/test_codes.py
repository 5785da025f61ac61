"""Code lists: data files, namespaced by code system, versioned, standard vs local, replaceable locally."""

import json

import pytest

from canbao.errors import NotFound
from forms import codes

EXPECTED = {
    "insurance_scheme",
    "enrollment_status",
    "payment_status",
    "id_type",
    "sex",
    "ethnicity",
    "hukou_nature",
    "employment_status",
    "uninsured_reason",
    "collection_channel",
    "guardian_relation",
    "review_decision",
}


@pytest.fixture
def fresh_codes():
    codes._all.cache_clear()
    yield
    codes._all.cache_clear()


def test_the_lists_are_loaded_from_data_files():
    assert set(codes.keys()) == EXPECTED


def test_lookup_of_a_label_and_of_a_whole_list():
    assert codes.label("insurance_scheme", "110") == "企业职工基本养老保险"
    assert codes.label("insurance_scheme", "999") is None
    assert codes.label("ethnicity", "56") == "基诺族"
    assert len(codes.get("ethnicity").codes) == 58
    assert [c.code for c in codes.get("enrollment_status").codes] == ["0", "1", "2", "4"]
    with pytest.raises(NotFound):
        codes.get("nope")


def test_every_code_is_namespaced_by_its_code_system():
    assert codes.qualified("insurance_scheme", "410") == "mohrss:AAE140:410"
    # 390 is the NHSA insutype code inside the 险种 list, never a bare number
    assert codes.qualified("insurance_scheme", "390") == "nhsa:insutype:390"
    assert codes.qualified("id_type", "01") == "mohrss:AAC058:01"


def test_standard_lists_carry_their_evidence_and_local_lists_say_they_are_local():
    for key in codes.keys():  # noqa: SIM118 - a function, not dict.keys()
        lst = codes.get(key)
        assert lst.version and lst.source, key
        assert not (lst.standard and lst.system.startswith("canbao-local:")), key
    assert not codes.get("uninsured_reason").standard
    assert codes.get("uninsured_reason").extra["other"] == "99"  # 其他 + 说明
    assert "16" not in codes.get("id_type")  # 16/17 conflict: not shipped


def test_no_list_claims_a_standard_whose_text_was_not_seen():
    """Issue 18: the 人社 lists were labelled LD/T 92-2013 `standard: true` while their own sources said the
    standard was not seen. They say what they are until checked: codes of the 人社 system, from code bases."""
    unseen = ("id_type", "enrollment_status", "insurance_scheme", "payment_status")
    for key in unseen:
        lst = codes.get(key)
        assert not lst.standard and lst.version != "LD/T 92-2013", key
        assert lst.system.startswith("mohrss:") and "LD/T 92-2013" in lst.source and "not seen" in lst.source
    for key in codes.keys():  # noqa: SIM118 - a function, not dict.keys()
        lst = codes.get(key)
        assert not (lst.standard and "not seen" in lst.source), key


def test_choices_render_a_select():
    assert codes.choices("sex")[1] == {"const": "1", "title": "男"}


def test_a_local_list_can_be_replaced_by_a_deployment(tmp_path, monkeypatch, fresh_codes):
    (tmp_path / "uninsured_reason.json").write_text(
        json.dumps(
            {
                "key": "uninsured_reason",
                "title": "未参保原因",
                "system": "canbao-local:uninsured_reason",
                "version": "jinan-2025",
                "standard": False,
                "codes": [{"code": "01", "label": "经济困难"}, {"code": "99", "label": "其他"}],
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CANBAO_CODES_DIR", str(tmp_path))
    replaced = codes.get("uninsured_reason")
    assert replaced.version == "jinan-2025" and replaced.values() == {"01", "99"}
    assert replaced.extra["other"] == "99"


def test_a_standard_list_cannot_be_replaced(tmp_path, monkeypatch, fresh_codes):
    (tmp_path / "sex.json").write_text(
        json.dumps(
            {
                "key": "sex",
                "title": "性别",
                "system": "x",
                "version": "1",
                "standard": False,
                "codes": [{"code": "M", "label": "男"}],
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CANBAO_CODES_DIR", str(tmp_path))
    with pytest.raises(codes.CodeListError):
        codes.get("sex")


def test_a_replacement_must_keep_the_codes_the_rules_use(tmp_path, monkeypatch, fresh_codes):
    (tmp_path / "uninsured_reason.json").write_text(
        json.dumps(
            {
                "key": "uninsured_reason",
                "title": "未参保原因",
                "system": "canbao-local:uninsured_reason",
                "version": "2",
                "standard": False,
                "codes": [{"code": "01", "label": "经济困难"}],
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CANBAO_CODES_DIR", str(tmp_path))
    with pytest.raises(codes.CodeListError):
        codes.get("uninsured_reason")


def test_the_id_types_may_be_replaced_once_checked_keeping_the_resident_id(
    tmp_path, monkeypatch, fresh_codes
):
    """证件类型 is not a checked standard: a deployment that has checked it may replace it. 01 stays (the
    rules name it); a type the rules do not know needs the 社会保障号码 on the form (forms.ssnumber.OTHER)."""
    from forms import ssnumber

    def write(codes_: list[dict[str, str]]) -> None:
        lst = {
            "key": "id_type",
            "title": "证件类型",
            "system": "mohrss:AAC058",
            "version": "2",
            "standard": False,
        }
        (tmp_path / "id_type.json").write_text(json.dumps(lst | {"codes": codes_}), encoding="utf-8")

    monkeypatch.setenv("CANBAO_CODES_DIR", str(tmp_path))
    write([{"code": "08", "label": "外国人护照"}])
    with pytest.raises(codes.CodeListError):
        codes.get("id_type")
    codes._all.cache_clear()
    write([{"code": "01", "label": "居民身份证"}, {"code": "17", "label": "港澳台居民居住证"}])
    assert codes.get("id_type").values() == {"01", "17"}
    assert ssnumber.rule("17") is ssnumber.OTHER


def test_the_cli_says_which_lists_were_not_checked_against_their_standard():
    from typer.testing import CliRunner

    from forms.cli import forms_app

    listed = CliRunner().invoke(forms_app, ["list"]).output
    assert "codes/id_type  证件类型  mohrss:AAC058 1  未经标准核对" in listed
    assert "codes/uninsured_reason  未参保原因  canbao-local:uninsured_reason 1  本地" in listed
