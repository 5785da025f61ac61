"""Every form: a valid draft 2020-12 schema, rendering hints for the web, its own example valid, a broken
copy rejected, and this validator never more lenient than the reference implementation."""

import copy

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forms
from canbao.errors import Invalid, NotFound
from forms.compiler import Compiler, SchemaError

from .helpers import errors

KEYS = ["change_request", "id_correction", "registration", "review_decision", "summary_row"]
BROKEN = {
    # one broken copy per form, and the error each must give
    "registration": (lambda d: d.update(ethnicity="57"), ("/ethnicity", "code.unknown")),
    "change_request": (lambda d: d.update(changes=[]), ("/changes", "field.too_few")),
    "id_correction": (lambda d: d.update(evidence=[]), ("/evidence", "field.too_few")),
    "review_decision": (lambda d: d.pop("reason"), ("/reason", "review.reason_required")),
    "summary_row": (lambda d: d.update(seq=0), ("/seq", "field.range")),
}


def reference(key):
    return jsonschema.Draft202012Validator(forms.get(key))


def test_every_form_is_listed():
    assert forms.keys() == KEYS


@pytest.mark.parametrize("key", KEYS)
def test_schema_is_valid_draft_2020_12_with_chinese_titles(key):
    schema = forms.get(key)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and all("\u4e00" <= ch <= "\u9fff" for ch in schema["title"][:2])
    for name, prop in schema["properties"].items():
        assert prop.get("title"), f"{key}/{name} has no title"


@pytest.mark.parametrize("key", KEYS)
def test_each_form_validates_its_own_example(key):
    example = forms.get(key)["examples"][0]
    assert example == forms.example(key)
    assert forms.validate(key, example) == []
    assert list(reference(key).iter_errors(example)) == []


@pytest.mark.parametrize("key", KEYS)
def test_each_form_rejects_a_broken_copy_of_its_example(key):
    broken = forms.example(key)
    breaker, expected = BROKEN[key]
    breaker(broken)
    assert expected in errors(key, broken)
    assert not reference(key).is_valid(broken)
    with pytest.raises(Invalid) as caught:
        forms.validate_or_raise(key, broken)
    assert caught.value.errors and caught.value.status == 422


def test_code_lists_are_expanded_into_labelled_choices():
    props = forms.get("registration")["properties"]
    assert {"const": "01", "title": "汉族"} in props["ethnicity"]["oneOf"]
    assert {"const": "1", "title": "男"} in props["sex"]["oneOf"]
    scheme = props["insurance"]["items"]["properties"]["scheme"]
    assert {"const": "390", "title": "城乡居民基本医疗保险"} in scheme["oneOf"]
    assert scheme["x-code"]["system"] == "mohrss:AAE140" and scheme["x-code"]["standard"] is False
    assert props["employment"]["properties"]["status"]["x-code"]["standard"] is False


def test_division_fields_are_annotated_for_a_narrowing_picker():
    props = forms.get("registration")["properties"]
    assert props["hukou"]["properties"]["division"]["x-division"] == {"level": "village"}
    assert props["residence"]["properties"]["division"]["x-division"] == {"level": "village"}
    place = props["insurance"]["items"]["properties"]["place"]
    assert place["x-division"] == {"level": "county", "accept": ["province", "city"]}


def test_summary_row_marks_its_columns_as_unverified():
    schema = forms.get("summary_row")
    assert schema["x-unverified"] is True and "未核实" in schema["description"]
    assert schema["x-columns"][:3] == ["seq", "name", "id_number"]


def _walk(node, path=""):
    yield path, node
    for key in ("properties",):
        for name, sub in node.get(key, {}).items():
            yield from _walk(sub, f"{path}/{name}")
    if "items" in node:
        yield from _walk(node["items"], f"{path}/items")


@pytest.mark.parametrize("key", KEYS)
def test_every_string_and_list_is_capped_and_every_object_closed(key):
    for path, node in _walk(forms.get(key)):
        if node.get("type") == "string":
            assert isinstance(node.get("maxLength"), int), path
        if node.get("type") == "array":
            assert isinstance(node.get("maxItems"), int), path
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path


def test_get_returns_a_copy_and_unknown_forms_are_not_found():
    forms.get("registration")["title"] = "changed"
    assert forms.get("registration")["title"] == "全民参保登记表"
    with pytest.raises(NotFound):
        forms.get("nope")
    with pytest.raises(NotFound):
        forms.validate("nope", {})


def test_field_schema_walks_into_objects_and_lists():
    assert forms.field_schema("registration", "/phone")["title"] == "联系电话"
    assert forms.field_schema("registration", "/insurance/0/status")["x-code"]["list"] == "enrollment_status"
    assert forms.field_schema("registration", "/insurance/-")["title"] == "险种参保情况"
    assert forms.field_schema("registration", "/nope") is None


def test_the_compiler_refuses_what_it_does_not_understand():
    compiler = Compiler()
    with pytest.raises(SchemaError):
        compiler.compile({"type": "string", "maxLength": 5, "dependentRequired": {}})
    with pytest.raises(SchemaError):
        compiler.compile({"type": "string"})  # uncapped
    with pytest.raises(SchemaError):
        compiler.compile({"type": "array", "items": {"type": "boolean"}})  # uncapped
    with pytest.raises(SchemaError):
        compiler.compile({"type": "object", "properties": {}})  # open object
    with pytest.raises(SchemaError):
        compiler.compile({"type": "string", "maxLength": 5, "format": "email"})


# -- never more lenient than the reference validator --------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "1", "01", "99", "110", "370102", "370100", "370102001002", "2025-06-18", "x", "张三"]
    ),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    max_leaves=6,
)


def _paths(doc, path=()):
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*path, i))


def _mutate(doc, path, value, delete):
    if not path:
        return value
    doc = copy.deepcopy(doc)
    target = doc
    for token in path[:-1]:
        target = target[token]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_whatever_this_validator_accepts_the_reference_accepts(key, data):
    base = forms.example(key)
    if key == "registration" and data.draw(st.booleans()):
        base = copy.deepcopy(forms.examples.REGISTRATION_MINOR)
    doc = base
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        doc = _mutate(doc, path, data.draw(JSON), delete=bool(path) and data.draw(st.booleans()))
    ours = forms.validate(key, doc)
    theirs = list(reference(key).iter_errors(doc))
    if not ours:
        assert theirs == [], (doc, theirs)
    assert all(e.pointer == "" or e.pointer.startswith("/") for e in ours)
