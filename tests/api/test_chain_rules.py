"""The chain of responsibility over the API and the command: a process that lets data into the registry
without the decisions its article requires is refused at the element to fix (engine/chain.py)."""

from typer.testing import CliRunner

from composition.cli import app

from ..engine.test_chain import APPROVED_TO, SHIPPED, _edit, _xml


def test_the_api_and_the_command_refuse_it_with_the_element(api, tmp_path):
    broken = _edit(
        _xml("survey_registration"),
        (
            APPROVED_TO + '"final_review">',
            APPROVED_TO + '"store">',
        ),
    )
    checked = api.post(
        "/definitions/validate",
        "manager1",
        content=broken.encode(),
        headers={"Content-Type": "application/xml"},
    ).json()
    assert checked["valid"] is False
    assert ("store", "chain.skips_duty") in [(p["element_id"], p["code"]) for p in checked["problems"]]
    refused = api.post(
        "/definitions", "manager1", content=broken.encode(), headers={"Content-Type": "application/xml"}
    )
    assert refused.status_code == 422
    assert ("store", "chain.skips_duty") in [(p["element_id"], p["code"]) for p in refused.json()["problems"]]
    path = tmp_path / "survey_registration.bpmn"
    path.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(app, ["definitions", "validate", str(path)])
    assert result.exit_code == 1 and "[chain.skips_duty] store" in result.output
    ok = CliRunner().invoke(app, ["definitions", "validate", *map(str, SHIPPED)])
    assert ok.exit_code == 0, ok.output
