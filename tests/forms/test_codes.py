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
        assert lst.system.startswith("canbao-local:") != lst.standard, key
    assert not codes.get("uninsured_reason").standard
    assert codes.get("uninsured_reason").extra["other"] == "99"  # 其他 + 说明
    assert codes.get("id_type").standard and "16" not in codes.get("id_type")  # 16/17 conflict: not shipped


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
