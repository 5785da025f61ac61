"""The process modeler: a manager edits labels and canbao's properties in bpmn-js's properties panel,
sees the server's validation problems on the elements they concern, saves a draft and publishes it as a
step of its own, and imports a model drawn in Camunda Modeler."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from ..definitions import variants
from ..definitions.variants import FIXTURES
from ..engine import samples
from ..engine.office import id_number

pytestmark = pytest.mark.browser
NEW_NAME = "入户调查登记（试点）"
XML = {"Content-Type": "application/xml"}
FITS = """(id) => {
  const box = document.getElementById(id).getBoundingClientRect();
  const shapes = [...document.querySelectorAll(`#${id} .djs-element:not(.djs-root) .djs-visual`)]
    .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0);
  const inside = (r) =>
    r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
  return shapes.length > 20 && shapes.every(inside) && box.height <= window.innerHeight;
}"""


def click_lane(page, lane_id: str) -> None:
    """Select a lane on the canvas by its header at the left, away from the tasks inside it."""
    shape = page.locator(f'#canvas g.djs-element[data-element-id="{lane_id}"]')
    box = shape.bounding_box()
    shape.click(position={"x": 12, "y": box["height"] / 2})
    expect(page.get_by_label("标识（ID）", exact=True)).to_have_value(lane_id)


def pick(page, element_id: str) -> None:
    """Select an element the keyboard's way, through the list of the diagram's elements. Right after a
    diagram opens, the panel may still be subscribing to selections: choose again until it shows it."""
    picker, shown = (
        page.get_by_label("选择元素（也可在图上点选）"),
        page.get_by_label("标识（ID）", exact=True),
    )
    for _ in range(5):
        picker.select_option(element_id)
        if shown.input_value() == element_id:
            return
        page.wait_for_timeout(200)
        picker.select_option("")
    expect(shown).to_have_value(element_id)


def rename(page, element_id: str, name: str) -> None:
    page.locator("#properties").get_by_label("名称", exact=True).fill(name)
    expect(page.locator(f'#canvas g.djs-element[data-element-id="{element_id}"]').first).to_contain_text(name)


def test_manager_edits_labels_sees_problems_on_elements_and_saves_version_2(api, office):
    o = office()
    o.expect_error(422, "/api/v1/definitions")
    page = o.login("manager1")
    process = page.locator('#definitions > li[data-key="survey_registration"]')
    process.get_by_role("button", name="版本 1").click()
    expect(page.locator("#editor-title")).to_have_text("入户调查登记 · 版本 1")
    expect(page.locator('#canvas g.djs-element[data-element-id="survey"]')).to_be_visible()
    o.shot("modeler-open")

    # a lane renamed to something that is not a role: the server refuses, pointing at its user task
    click_lane(page, "Lane_platform")
    expect(page.locator("#properties").get_by_label("名称", exact=True)).to_have_value("基层平台")
    rename(page, "Lane_platform", "平台")
    page.get_by_role("button", name="保存草稿").click()
    problems = page.locator("#problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("基层平台初审（initial_review）")
    expect(problems).to_contain_text("lane.unknown_role")
    badge = page.locator('.djs-overlay-container [data-container-id="initial_review"] .problem-badge')
    expect(badge).to_have_text("1")
    expect(page.locator('#canvas g.djs-element[data-element-id="initial_review"]')).to_have_class(
        re.compile("cb-problem")
    )
    o.shot("modeler-problems")
    problems.get_by_role("button", name="基层平台初审（initial_review）：").click()
    expect(page.get_by_label("标识（ID）", exact=True)).to_have_value("initial_review")

    # fixed, and the survey task relabelled: valid, saved as version 2
    click_lane(page, "Lane_platform")
    rename(page, "Lane_platform", "基层平台")
    pick(page, "survey")
    rename(page, "survey", NEW_NAME)
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#status")).to_contain_text("校验通过")
    expect(problems).to_be_hidden()

    # opening another process asks before the unsaved edits are dropped; declined, nothing changes
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator('#definitions > li[data-key="change_approval"]').get_by_role("button", name="版本 1").click()
    expect(page.locator("#draft-state")).to_contain_text("版本 1 已修改，尚未保存")
    assert asked == ["流程图的修改尚未保存为草稿，确定放弃这些修改？"]
    expect(page.locator("#editor-title")).to_have_text("入户调查登记 · 版本 1")
    page.get_by_label("版本说明").fill("调查环节改名（试点）")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#status")).to_contain_text("已保存草稿：版本 2（未发布")
    expect(page.locator("#editor-title")).to_have_text("入户调查登记 · 版本 2")
    expect(process.get_by_role("button", name="版本 2")).to_have_attribute("aria-pressed", "true")
    expect(process).to_contain_text("调查环节改名（试点）")
    o.shot("modeler-saved")

    versions = api.get("/definitions/survey_registration/versions", "manager1").json()
    assert sorted(v["version"] for v in versions) == [1, 2]
    xml = api.client.get(
        "/api/v1/definitions/survey_registration/versions/2/xml", headers=api.as_("manager1")
    ).text
    assert f'name="{NEW_NAME}"' in xml and 'name="基层平台"' in xml
    assert '<spiffworkflow:property name="formKey" value="registration"' in xml  # extensions kept


def test_manager_compares_versions_side_by_side_and_migrates_a_waiting_case(api, office):
    case_id = api.start_survey("370102199001011231")  # waits at the survey task on version 1
    xml = api.client.get(
        "/api/v1/definitions/survey_registration/versions/1/xml", headers=api.as_("manager1")
    ).text
    v2 = xml.replace('name="基层平台初审"', 'name="基层平台初审（复核）"')
    # and the drawing wider (the 已入库 end moved right, outside the pool): layout, not a change
    for old, new in [('x="1552" y="452"', 'x="1852" y="452"'), ('x="1552" y="493"', 'x="1852" y="493"')]:
        v2 = v2.replace(f"<dc:Bounds {old}", f"<dc:Bounds {new}")
    v2 = v2.replace('<di:waypoint x="1552" y="470" />', '<di:waypoint x="1852" y="470" />')
    r = api.client.post(
        "/api/v1/definitions?comment=初审改名",
        content=v2.encode(),
        headers={**api.as_("manager1"), "Content-Type": "application/xml"},
    )
    assert r.status_code == 201, r.text

    o = office()
    page = o.login("manager1")
    page.on("dialog", lambda dialog: dialog.accept())
    process = page.locator('#definitions > li[data-key="survey_registration"]')
    expect(process.locator('li[data-version="2"] .badge')).to_have_text("当前版本")
    expect(process.locator('li[data-version="1"]')).to_contain_text("运行中 1 件")
    process.get_by_role("link", name="对比版本、迁移案件").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("入户调查登记 · 版本对比")
    changed = page.locator("#changes tbody tr.diff-changed")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("基层平台初审（复核）（initial_review）")
    expect(changed).to_contain_text("基层平台初审 → 基层平台初审（复核）")
    expect(changed).to_contain_text("用户任务")
    expect(changed).to_contain_text("名称：基层平台初审 → 基层平台初审（复核）")
    for side in ("left", "right"):
        element = page.locator(f'#{side} g.djs-element[data-element-id="initial_review"]')
        expect(element).to_have_class(re.compile("cb-changed"))
        # the whole drawing, labels too, inside its box, and the box inside the 1366×768 window
        assert page.evaluate(FITS, side), side
    o.shot("diff")

    page.get_by_role("button", name="试运行").click()
    expect(page.locator("#migration")).to_contain_text("已完成")
    expect(page.locator('#migration-items tr[data-outcome="movable"]')).to_contain_text(f"案件 {case_id}")
    assert api.get(f"/cases/{case_id}/diagram", "county1").json()["version"] == 1  # a dry run changes nothing
    page.get_by_role("button", name="执行迁移").click()
    expect(page.locator('#migration-items tr[data-outcome="migrated"]')).to_contain_text(f"案件 {case_id}")
    assert api.get(f"/cases/{case_id}/diagram", "county1").json()["version"] == 2
    o.shot("migrated")

    page.get_by_role("link", name="流程管理").first.click()
    version1 = process.locator('li[data-version="1"]')
    version1.get_by_role("button", name="停用").click()
    expect(version1.locator(".badge")).to_have_text("已停用")
    expect(page.locator("#status")).to_contain_text("已停用：入户调查登记 版本 1")


def test_the_page_lists_processes_in_every_state_and_a_retired_one_can_be_reinstated(api, office):
    """A process with only a draft, one with every version retired, one with a current version and a
    draft: all are listed with their state, and the retired one can be published again."""
    draft = samples.process(samples.user_task(), key="draft_only")
    r = api.post("/definitions?publish=false", "manager1", content=draft.encode(), headers=XML)
    assert r.status_code == 201, r.text
    assert api.post("/definitions/change_approval/versions/1/retire", "manager1").status_code == 200
    renamed = variants.with_final_review_renamed()
    r = api.post("/definitions?publish=false", "manager1", content=renamed.encode(), headers=XML)
    assert r.status_code == 201, r.text

    o = office()
    page = o.login("manager1")
    listed = page.locator("#definitions > li")
    expect(listed).to_have_count(6)  # the five shipped processes and the draft
    only_draft = page.locator('#definitions > li[data-key="draft_only"]')
    expect(only_draft.locator('li[data-version="1"] .badge')).to_have_text("未发布")
    expect(only_draft).to_contain_text("没有当前版本")
    retired = page.locator('#definitions > li[data-key="change_approval"]')
    expect(retired.locator('li[data-version="1"] .badge')).to_have_text("已停用")
    expect(retired).to_contain_text("没有当前版本")
    survey = page.locator('#definitions > li[data-key="survey_registration"]')
    expect(survey.locator('li[data-version="1"] .badge')).to_have_text("当前版本")
    expect(survey.locator('li[data-version="2"] .badge')).to_have_text("未发布")
    expect(survey).not_to_contain_text("没有当前版本")
    o.shot("every-state")

    retired.get_by_role("button", name="恢复发布").click()
    expect(page.locator("#status")).to_contain_text("已发布：登记信息变更审批 版本 1")
    expect(retired.locator('li[data-version="1"] .badge')).to_have_text("当前版本")
    expect(retired).not_to_contain_text("没有当前版本")


def test_properties_panel_edit_is_validated_saved_as_a_draft_then_published_and_cases_start_on_it(
    api, office
):
    """A manager shortens the survey's due period, names its role and changes the 初审 timer in the
    properties panel; validation catches a role that contradicts the lane; the draft is saved, no case
    starts on it until it is published, and then a case starts on it with the new due period."""
    o = office()
    page = o.login("manager1")
    page.on("dialog", lambda dialog: dialog.accept())
    process = page.locator('#definitions > li[data-key="survey_registration"]')
    process.get_by_role("button", name="版本 1").click()
    props = page.locator("#properties")
    publish = page.get_by_role("button", name="发布", exact=False).and_(page.locator("#publish"))
    expect(publish).to_be_disabled()  # version 1 is already current

    pick(page, "survey")
    expect(props.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    # the modeler speaks Chinese: context pad, palette, replace menu
    expect(page.locator('.djs-context-pad [data-action="delete"]')).to_have_attribute("title", "删除")
    expect(page.locator('.djs-context-pad [data-action="append.append-task"]')).to_have_attribute(
        "title", "添加任务"
    )
    expect(page.locator(".djs-palette .entry[data-action='create.task']")).to_have_attribute(
        "aria-label", "创建任务"
    )
    page.locator('.djs-context-pad [data-action="replace"]').click()
    expect(page.locator(".djs-popup")).to_contain_text("业务规则任务")
    page.keyboard.press("Escape")
    expect(props.get_by_label("表单", exact=True)).to_have_value("registration")
    due = props.get_by_label("办理时限（ISO 8601 时长，如 P10D）")
    expect(due).to_have_value("P10D")
    due.fill("十天")
    expect(props).to_contain_text("应为 ISO 8601 时长")
    due.fill("P7D")
    role = props.get_by_label("岗位", exact=True)
    role.select_option("platform_reviewer")
    o.shot("properties-user-task")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problems")).to_contain_text("role.conflict")
    role.select_option("surveyor")

    pick(page, "final_review")  # the panel reads what the engine reads
    expect(props.get_by_label("职责（规程要求的审核环节）")).to_have_value("final_review")
    expect(props.get_by_label("审定所需授权")).to_have_value("survey")
    for decision in ("同意", "退回", "不予登记"):
        expect(props.get_by_label(f"审核结论：{decision}")).to_be_checked()
    pick(page, "store")
    operation = props.get_by_label("操作", exact=True)
    expect(operation).to_have_value("registry.store")
    expect(operation.locator("option", has_text="归档（archive.seal）")).to_have_count(1)
    expect(props.get_by_label("结果变量")).to_have_value("stored")

    pick(page, "initial_review_timeout")
    expect(props.locator(".bio-properties-panel-header-type")).to_contain_text("定时边界事件")
    timer = props.get_by_label("时限（ISO 8601 时长，如 P5D）")
    expect(timer).to_have_value("P5D")
    expect(props.get_by_label("超时督办（记入督办，任务留在原处）")).to_be_checked()
    expect(props.get_by_label("中断所附任务（不勾选：任务照常办理）")).not_to_be_checked()
    timer.fill("P3D")
    expect(page.locator("#draft-state")).to_contain_text("先保存草稿，再发布")
    expect(publish).to_be_disabled()
    o.shot("properties-timer")

    page.get_by_role("button", name="校验").click()
    expect(page.locator("#status")).to_contain_text("校验通过")
    page.get_by_label("版本说明").fill("调查时限缩短为7天")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#status")).to_contain_text("已保存草稿：版本 2（未发布")
    expect(process.locator('li[data-version="2"] .badge')).to_have_text("未发布")
    expect(process.locator('li[data-version="1"] .badge')).to_have_text("当前版本")
    expect(page.locator("#draft-state")).to_contain_text("版本 2：未发布，可以发布")
    o.shot("draft-saved")
    draft_case = api.start_survey("370102199001011231")
    assert api.get(f"/cases/{draft_case}/diagram", "county1").json()["version"] == 1  # a draft starts nothing

    publish.click()
    expect(page.locator("#status")).to_contain_text("已发布：入户调查登记 版本 2，新案件从此版本开始")
    expect(process.locator('li[data-version="2"] .badge')).to_have_text("当前版本")
    expect(publish).to_be_disabled()
    o.shot("published")

    xml = api.client.get(
        "/api/v1/definitions/survey_registration/versions/2/xml", headers=api.as_("manager1")
    ).text
    assert '<spiffworkflow:property name="dueIn" value="P7D"' in xml
    assert '<spiffworkflow:property name="role" value="surveyor"' in xml
    assert 'timeouts.get("initial_review", "P3D")' in xml
    assert '<spiffworkflow:serviceTaskOperator id="registry.store" resultVariable="stored">' in xml
    case_id = api.start_survey(id_number(seq="124"))
    assert api.get(f"/cases/{case_id}/diagram", "county1").json()["version"] == 2
    task = api.task_of(case_id)
    assert task.spec_name == "survey" and task.due_at - task.created_at == timedelta(days=7)


def test_a_camunda_model_is_imported_through_the_page_saved_as_a_draft_and_published(api, office):
    o = office()
    page = o.login("manager1")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("导入 BPMN 文件").set_input_files(FIXTURES / "dialects" / "camunda7_change_review.bpmn")
    expect(page.locator("#editor-title")).to_have_text("导入：camunda7_change_review.bpmn")
    expect(page.locator("#status")).to_contain_text("校验通过")
    report = page.locator("#import-report")
    expect(report).to_contain_text("按 Camunda 7、Camunda Modeler 的写法转换")
    final = report.locator("#import-mapped tr", has_text="camunda:candidateGroups=县级经办机构")
    expect(final).to_contain_text("县级审定（final）")
    expect(final).to_contain_text("role=county_approver")
    expect(report.locator("#import-ignored")).to_contain_text("camunda:priority")
    o.shot("camunda-import")

    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#status")).to_contain_text("已保存草稿：版本 1（未发布")
    imported = page.locator('#definitions > li[data-key="change_review_c7"]')
    expect(imported.locator('li[data-version="1"] .badge')).to_have_text("未发布")
    pick(page, "final")  # the stored version, in canbao's properties
    expect(page.locator("#properties").get_by_label("岗位", exact=True)).to_have_value("county_approver")
    expect(page.locator("#properties").get_by_label("办理时限（ISO 8601 时长，如 P10D）")).to_have_value(
        "PT48H"
    )
    page.locator("#publish").click()
    expect(imported.locator('li[data-version="1"] .badge')).to_have_text("当前版本")
    o.shot("camunda-published")
    xml = api.client.get(
        "/api/v1/definitions/change_review_c7/versions/1/xml", headers=api.as_("manager1")
    ).text
    assert "camunda:" not in xml and '<spiffworkflow:property name="role" value="county_approver"/>' in xml


def test_every_shipped_process_round_trips_through_the_modeler_unchanged_in_meaning(api, office):
    """bpmn-js reads canbao's SpiffWorkflow extensions typed (the properties panel's moddle extension)
    and writes them back: a process opened and saved as a draft without edits differs in nothing the
    engine reads."""
    o = office()
    page = o.login("manager1")
    keys = sorted({d["key"] for d in api.get("/definitions", "manager1").json()})
    assert len(keys) == 5
    for key in keys:
        process = page.locator(f'#definitions > li[data-key="{key}"]')
        process.get_by_role("button", name="版本 1").click()
        expect(page.locator("#draft-state")).to_contain_text("版本 1：当前版本")
        page.get_by_role("button", name="保存草稿").click()
        expect(page.locator("#status")).to_contain_text(re.compile("已保存草稿：版本 2|内容没有变化"))
        expect(page.locator("#draft-state")).to_contain_text("版本 2")
        body = api.get(f"/definitions/{key}/versions/1/diff/2", "manager1").json()
        assert (body["added"], body["removed"], body["changed"]) == ([], [], []), key


BARE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Definitions_bare" targetNamespace="http://canbao.example/bpmn">
  <bpmn:collaboration id="Collaboration_bare">
    <bpmn:participant id="Participant_bare" name="补充说明" processRef="bare" />
  </bpmn:collaboration>
  <bpmn:process id="bare" name="补充说明" isExecutable="true">
    <bpmn:laneSet id="LaneSet_bare">
      <bpmn:lane id="Lane_1" name="待定">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="审核补充说明">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_bare">
    <bpmndi:BPMNPlane id="Plane_bare" bpmnElement="Collaboration_bare">
      <bpmndi:BPMNShape id="Participant_bare_di" bpmnElement="Participant_bare" isHorizontal="true">
        <dc:Bounds x="100" y="60" width="500" height="160" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_1_di" bpmnElement="Lane_1" isHorizontal="true">
        <dc:Bounds x="130" y="60" width="470" height="160" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="172" y="122" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="work_di" bpmnElement="work">
        <dc:Bounds x="280" y="100" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="472" y="122" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="208" y="140" /><di:waypoint x="280" y="140" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <di:waypoint x="380" y="140" /><di:waypoint x="472" y="140" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_the_panel_gives_a_bare_task_its_form_and_due_period_and_a_lane_its_role(api, office, tmp_path):
    """A process drawn without any of canbao's properties: the panel writes them from nothing (the
    extension elements included) and the lane's role, until validation passes."""
    bare = tmp_path / "bare.bpmn"
    bare.write_text(BARE, encoding="utf-8")
    o = office()
    page = o.login("manager1")
    page.get_by_label("导入 BPMN 文件").set_input_files(bare)
    problems = page.locator("#problems")
    expect(problems).to_contain_text("form.missing")
    expect(problems).to_contain_text("lane.unknown_role")

    props = page.locator("#properties")
    pick(page, "Lane_1")
    props.get_by_label("泳道岗位").select_option("基层平台")
    expect(page.locator('#canvas g.djs-element[data-element-id="Lane_1"]')).to_contain_text("基层平台")
    pick(page, "work")
    expect(props.get_by_label("岗位", exact=True).locator("option").first).to_have_text("按泳道（基层平台）")
    props.get_by_label("表单", exact=True).select_option("review_decision")
    props.get_by_label("办理时限（ISO 8601 时长，如 P10D）").fill("P3D")
    props.get_by_label("审核结论：同意").check()
    props.get_by_label("审核结论：退回").check()
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#status")).to_contain_text("校验通过")
    o.shot("bare-task-given-its-properties")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#status")).to_contain_text("已保存草稿：版本 1（未发布")
    xml = api.client.get("/api/v1/definitions/bare/versions/1/xml", headers=api.as_("manager1")).text
    assert '<bpmn:lane id="Lane_1" name="基层平台">' in xml
    for name, value in [("formKey", "review_decision"), ("dueIn", "P3D"), ("decisions", "approve,return")]:
        assert f'<spiffworkflow:property name="{name}" value="{value}"' in xml, name
