"""Typed engine errors: each leaves the database unchanged and maps to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass

from canbao.errors import CanbaoError, Conflict, Forbidden, Invalid, NotFound, PreconditionFailed


class UnknownProcess(NotFound):
    code = "process.unknown"
    title = "流程不存在或未发布"


class CaseNotFound(NotFound):
    code = "case.not_found"
    title = "案件不存在"


class TaskNotFound(NotFound):
    code = "task.not_found"
    title = "任务不存在"


class TaskAlreadyCompleted(Conflict):
    code = "task.already_completed"
    title = "任务已办结"


class TaskClaimedByOther(Conflict):
    code = "task.claimed_by_other"
    title = "任务已被他人认领"


class WrongLane(Forbidden):
    code = "task.wrong_lane"
    title = "该任务不属于您的岗位"


class NotInTeam(Forbidden):
    code = "task.not_in_team"
    title = "该调查任务不属于您所在的调查小组"


class SeparationOfDuties(Forbidden):
    code = "task.separation_of_duties"
    title = "同一人不能既采集又审核（校核、初审）"


class StaleCaseVersion(PreconditionFailed):
    code = "case.stale_version"


class InvalidFormData(Invalid):
    code = "task.form_invalid"
    title = "表单数据未通过校验"


class CaseAlreadyOpen(Conflict):
    code = "case.already_open"
    title = "该人员已有办理中的同类案件"


class CaseNotRunning(Conflict):
    code = "case.not_running"
    title = "案件已结束，不能再办理"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a BPMN document, located at an element so a modeler can point at it.

    `element_id` is None only for problems that concern the whole document (DOCUMENT_CODES).
    `attribute` names the attribute or extension element it comes from where that helps find it
    (`camunda:assignee`, `conditionExpression`).
    """

    element_id: str | None
    code: str
    message: str
    attribute: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "element_id": self.element_id,
            "scope": "element" if self.element_id else "document",
            "code": self.code,
            "message": self.message,
            "attribute": self.attribute,
        }


# Problems of the document as a whole: not XML, not BPMN, not runnable as one process, or files around it.
DOCUMENT_CODES = frozenset(
    {
        "xml.too_large",
        "xml.syntax",
        "xml.encoding",
        "xml.not_bpmn",
        "process.not_executable",
        "process.ambiguous",
        "process.no_id",
        "process.duplicate",
        "dmn.name",
        "dmn.syntax",
        "dmn.not_dmn",
    }
)


class InvalidDefinition(CanbaoError):
    status = 422
    code = "definition.invalid"
    title = "流程定义未通过校验"

    def __init__(self, problems: list[Problem], detail: str | None = None) -> None:
        self.problems = problems
        super().__init__(detail or f"流程定义有 {len(problems)} 处问题")


class ScriptFailed(CanbaoError):
    """A script, condition or service operation failed while the case ran; nothing was saved."""

    status = 422
    code = "case.script_failed"
    title = "流程脚本执行失败"

    def __init__(self, detail: str, *, task: str | None, line: int | None) -> None:
        super().__init__(detail, task=task, line=line)
        self.task = task
        self.line = line


class ScriptLimit(ScriptFailed):
    """A script or condition went over its time or size limit (engine/limits.py), or the process went
    round without waiting for anyone; nothing was saved."""

    code = "case.script_limit"
    title = "流程脚本超出运行限制"
