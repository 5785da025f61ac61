"""BPMN from any modeler either deploys or gets a list of located problems, never a server error.

`CANBAO_BPMN_CORPUS` names folders (separated by the path separator) whose *.bpmn files, searched
recursively, are fed to the API; by default the hand-written fixtures of other modelers and bpmn/.
"""

import os
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from canbao.config import PROJECT_ROOT
from composition.wiring import wire
from engine import specs

from .variants import FIXTURES

CORPUS_ENV = "CANBAO_BPMN_CORPUS"
XML = {"Content-Type": "application/xml"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def corpus() -> list[Path]:
    folders = os.environ.get(CORPUS_ENV)
    roots = (
        [Path(f) for f in folders.split(os.pathsep) if f] if folders else [FIXTURES, PROJECT_ROOT / "bpmn"]
    )
    return sorted(path for root in roots for path in root.rglob("*.bpmn"))


def test_every_bpmn_file_of_the_corpus_validates_and_deploys_without_a_server_error(api):
    files = corpus()
    assert files, f"no *.bpmn files under {os.environ.get(CORPUS_ENV) or FIXTURES}"
    failures = []
    for path in files:
        raw = path.read_bytes()
        checked = api.post("/definitions/validate", "manager1", content=raw, headers=XML)
        deployed = api.post("/definitions", "manager1", content=raw, headers=XML)
        if checked.status_code != 200 or deployed.status_code >= 500:
            failures.append(f"{path}: validate {checked.status_code}, deploy {deployed.status_code}")
            continue
        body = checked.json()
        if body["valid"] != (deployed.status_code in (200, 201)):
            failures.append(
                f"{path}: validate says valid={body['valid']}, deploy answered {deployed.status_code}"
            )
        for problem in body["problems"]:
            if not (problem["code"] and CJK.search(problem["message"])):
                failures.append(f"{path}: problem without code or Chinese message: {problem}")
    assert failures == []


EXPECTED = {
    "bpmnio_demo.bpmn": {(None, "process.not_executable")},
    "signavio_export.bpmn": {(None, "process.not_executable")},
    # Camunda settings canbao cannot run are refused (import.unmapped); the mapped ones are checked
    "camunda_modeler.bpmn": {
        ("StartEvent_1", "import.unmapped"),
        ("Activity_review", "import.unmapped"),
        ("Activity_review", "role.unknown"),
        ("Activity_review", "form.unknown"),
        ("Activity_store", "operation.missing"),
    },
    "zeebe_camunda8.bpmn": {
        ("f_yes", "import.unmapped"),
        ("notify", "import.unmapped"),
        ("review", "role.unknown"),
        ("review", "form.unknown"),
        ("notify", "operation.missing"),
    },
    "no_lanes.bpmn": {("fill", "lane.unknown_role"), ("sign", "lane.unknown_role"), ("sign", "form.missing")},
    "two_executable_pools.bpmn": {(None, "process.ambiguous")},
    "unreachable_island.bpmn": {("forgotten", "element.unreachable")},
    "dangling_reference.bpmn": {
        ("f1", "reference.missing"),
        ("f2", "reference.missing"),
        ("end", "element.unreachable"),
    },
    "not_xml.bpmn": {(None, "xml.syntax")},
    "empty.bpmn": {(None, "xml.syntax")},
    "entity_expansion.bpmn": {(None, "xml.syntax")},
    "data_reference_missing.bpmn": {("check", "data.unresolved")},
    "no_diagram.bpmn": set(),
    "pools_with_message_flows.bpmn": set(),
    "embedded_subprocess.bpmn": set(),
    "call_activity.bpmn": set(),
}


@pytest.fixture(scope="module", autouse=True)
def operations():
    wire()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_other_modelers_files_get_the_expected_verdict(name):
    text = (FIXTURES / name).read_bytes().decode()
    assert {(p.element_id, p.code) for p in specs.validate(text)} == EXPECTED[name]


SOURCES = [
    PROJECT_ROOT / "bpmn" / "survey_registration.bpmn",
    FIXTURES / "camunda_modeler.bpmn",
    FIXTURES / "embedded_subprocess.bpmn",
    FIXTURES / "pools_with_message_flows.bpmn",
]
VALUES = [
    "",
    "x",
    "survey",
    "start",
    "end",
    "f_start",
    "true",
    "false",
    "P3D",
    "'P3D'",
    "1/0",
    "None",
    "基层平台",
]


def _mutate(source: bytes, seed: int, edits: int) -> str:
    """The document with `edits` random deletions, moves and attribute or text changes."""
    rnd = random.Random(seed)
    tree = etree.fromstring(source)
    for _ in range(edits):
        elements = list(tree.iter(etree.Element))
        el = rnd.choice(elements)
        op = rnd.randrange(4)
        if op == 0 and el.getparent() is not None:
            el.getparent().remove(el)
        elif op == 1 and el.attrib:
            name = rnd.choice(sorted(el.attrib))
            if rnd.random() < 0.5:
                del el.attrib[name]
            else:
                el.attrib[name] = rnd.choice(VALUES)
        elif op == 2:
            el.text = rnd.choice(VALUES)
        else:
            other = rnd.choice(elements)
            if other is not el and other not in el.iterancestors() and other.getparent() is not None:
                el.append(other)
    return etree.tostring(tree, encoding="unicode")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.sampled_from(SOURCES), seed=st.integers(0, 2**32), edits=st.integers(1, 4))
def test_damaged_documents_get_problems_not_exceptions(source, seed, edits):
    problems = specs.validate(_mutate(source.read_bytes(), seed, edits))
    assert all(p.code and CJK.search(p.message) for p in problems)
