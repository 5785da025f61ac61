"""The registry over HTTP: imports, information comparison, survey lists and teams, printable forms."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from canbao import audit
from canbao.actors import Actor
from canbao.errors import FieldError, Invalid, NotFound
from registry import comparison, departments, documents, imports, persons, precedence, survey
from registry.common import require_reach

from ..deps import MAX_ID, Db, RowId, permit
from ..masking import MaskingRoute, for_actor

router = APIRouter(tags=["registry 登记库"], route_class=MaskingRoute)
Importer = Annotated[Actor, Depends(permit("registry.import"))]
Comparer = Annotated[Actor, Depends(permit("registry.compare"))]
Planner = Annotated[Actor, Depends(permit("survey.plan"))]
Reader = Annotated[Actor, Depends(permit("survey.read"))]
Fielder = Annotated[Actor, Depends(permit("survey.add_person"))]
Area = Annotated[str, Query(pattern=r"^\d{2,12}$", description="行政区划代码")]
MAX_IMPORT_BYTES = 200 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ImportKind = Literal[("population", "enrollments", *departments.KINDS)]


def _download(content: bytes, media_type: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


class ImportOut(BaseModel):
    id: int
    kind: str
    system: str = Field(description="来源：公安、业务系统名称或部门")
    filename: str
    sha256: str
    total: int
    accepted: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    rejection_file: str | None
    actor: str
    at: str
    repeated: bool
    persons_added: int = Field(description="参保信息：登记库原无、因在本地参保而新增的人员数")
    outranked: int | None = Field(default=None, description="部门数据：因来源优先级较低未采用的字段值个数")


@router.post(
    "/imports",
    status_code=201,
    response_model=ImportOut,
    summary="导入公安人口数据、某业务系统的参保数据或其他部门的数据（CSV/XLSX，UTF-8或GBK）",
)
async def import_file(
    actor: Importer,
    db: Db,
    file: Annotated[UploadFile, File(description="CSV 或 XLSX 文件")],
    kind: Annotated[ImportKind, Form(description="导入类型（部门数据的格式见 GET /imports/formats）")],
    system: Annotated[str | None, Form(max_length=32)] = None,
) -> dict[str, Any]:
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise Invalid(
            [FieldError("/file", "file.too_large", f"文件不能超过 {MAX_IMPORT_BYTES // 1024 // 1024} MB")]
        )
    filename = file.filename or "upload"
    if kind in departments.KINDS:
        return departments.import_file(
            db, actor=actor, kind=kind, content=content, filename=filename
        ).as_dict()
    result = imports.import_file(
        db, actor=actor, kind=kind, content=content, filename=filename, system=system
    )
    return result.as_dict()


@router.get("/imports", response_model=list[ImportOut], summary="导入记录")
def list_imports(actor: Importer, db: Db, kind: ImportKind | None = None) -> list[dict]:
    return [
        imports.ImportResult(record=r, repeated=False).as_dict()
        for r in imports.get_all(db, actor=actor, kind=kind)
    ]


class SourceOut(BaseModel):
    source: str
    label: str


class FieldPrecedence(BaseModel):
    field: str = Field(description="登记表字段（JSON指针）")
    label: str
    sources: list[str] = Field(description="可写入该字段的来源，由强到弱")


class PrecedenceTable(BaseModel):
    sources: list[SourceOut]
    fields: list[FieldPrecedence]


class FormatColumn(BaseModel):
    key: str
    headings: list[str] = Field(description="可用的表头（第一个为标准表头）")
    type: str
    required: bool
    codes: dict[str, str] | None = Field(default=None, description="本系统代码 → 名称")
    mapped: dict[str, str] | None = Field(default=None, description="部门的写法或代码 → 本系统代码")


class ImportFormat(BaseModel):
    kind: str
    label: str
    source: str
    key: list[str] = Field(description="同一文件中不得重复的列")
    fields: dict[str, str] = Field(description="登记表字段 → 取值的列（“=”开头为常量）")
    columns: list[FormatColumn]


@router.get(
    "/imports/precedence",
    response_model=PrecedenceTable,
    summary="各来源对各字段的优先级（强者不被弱者覆盖）",
)
def precedence_table(actor: Importer) -> dict[str, Any]:
    return precedence.describe()


@router.get("/imports/formats", response_model=list[ImportFormat], summary="其他部门数据文件的格式")
def import_formats(actor: Importer) -> list[dict[str, Any]]:
    return departments.describe()


@router.get("/imports/{import_id}/rejections.csv", summary="下载被拒绝的行及原因")
def rejections(import_id: RowId, actor: Importer, db: Db) -> Response:
    record = imports.get(db, actor=actor, import_id=import_id)
    if record is None or not record.rejection_file or not Path(record.rejection_file).exists():
        raise NotFound("没有该导入的拒绝文件")
    audit.record(db, actor=actor, action="import.export", object_type="data_import", object_id=import_id)
    return _download(
        Path(record.rejection_file).read_bytes(),
        "text/csv; charset=utf-8",
        f"import-{import_id}-rejected.csv",
    )


class CompareRequest(BaseModel):
    area: str = Field(pattern=r"^\d{2,12}$", description="比对范围（行政区划代码）")
    as_of: date | None = Field(default=None, description="比对基准日（默认今天）")


@router.post("/comparisons", status_code=201, summary="信息比对：已参保、重复参保、需调查登记、排除")
def compare(body: CompareRequest, actor: Comparer, db: Db) -> dict[str, Any]:
    return comparison.run(db, actor=actor, area=body.area, as_of=body.as_of).as_dict()


@router.get("/comparisons", summary="比对记录")
def list_comparisons(actor: Comparer, db: Db, area: Area | None = None) -> list[dict[str, Any]]:
    return [
        comparison.summary(r)
        for r in comparison.get_all(db, area=area or actor.area or None)
        if r.area.startswith(actor.area)
    ]


@router.get("/comparisons/{run_id}", summary="一次比对的结果：各类人数及与上次的差异")
def get_comparison(run_id: RowId, actor: Comparer, db: Db) -> dict[str, Any]:
    run = comparison.get_or_raise(db, run_id=run_id)
    if not actor.reaches(run.area):
        raise NotFound("比对记录不存在")
    return {**comparison.summary(run), "by_division": comparison.counts_by_division(db, run_id=run_id)}


@router.get("/survey-lists", summary="入户调查名单：按村（社区）统计需调查人数")
def survey_lists(area: Area, actor: Reader, db: Db) -> list[dict[str, Any]]:
    return survey.list_counts(db, actor=actor, area=area)


@router.get("/survey-lists/{area}/persons", summary="入户调查对象名单（按岗位脱敏）")
def survey_persons(
    area: str,
    actor: Reader,
    db: Db,
    village: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    return survey.list_persons(
        db,
        actor=actor,
        area=area,
        village=village,
        limit=limit,
        offset=offset,
    )


class OpenCases(BaseModel):
    team_id: int = Field(ge=1, le=MAX_ID, description="承担调查的小组")
    limit: int = Field(default=500, ge=1, le=5000, description="本次最多生成的案件数")


@router.post(
    "/survey-lists/{area}/cases", status_code=201, summary="为名单中的人员批量生成入户调查案件（幂等）"
)
def open_cases(area: str, body: OpenCases, actor: Planner, db: Db, request: Request) -> dict[str, Any]:
    if not actor.reaches(area):
        raise NotFound("名单不存在")
    opened = request.app.state.open_survey_cases(
        db, actor=actor, area=area, team_id=body.team_id, limit=body.limit
    )
    return {"opened": len(opened.case_ids), "case_ids": opened.case_ids, "more": opened.limit_reached}


class FoundPerson(BaseModel):
    id_number: str = Field(min_length=15, max_length=18)
    name: str = Field(min_length=1, max_length=50)
    residence_division: str = Field(pattern=r"^\d{12}$")
    residence_address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=500)


@router.post(
    "/survey-lists/persons", status_code=201, summary="入户调查中新发现的人员，补充进名单（第十八条）"
)
def add_found(body: FoundPerson, actor: Fielder, db: Db) -> dict[str, Any]:
    result = survey.add_found_person(db, actor=actor, **body.model_dump())
    return result


@router.get("/survey-lists/{village}/registration.pdf", summary="预填的全民参保登记表（供打印）")
def village_forms(village: str, actor: Reader, db: Db) -> Response:
    return _download(
        documents.village_pdf(db, actor=actor, village=village, mask=for_actor(actor)),
        "application/pdf",
        f"{village}-全民参保登记表.pdf",
    )


@router.get(
    "/survey-lists/{village}/summary.xlsx",
    summary="个人信息汇总表（附件2），即村（社区）的统一登记台账：期间内调查的全部人员及待调查人员",
)
def village_summary(
    village: str,
    actor: Reader,
    db: Db,
    request: Request,
    since: Annotated[date | None, Query(alias="from", description="调查日期起（含），北京时间")] = None,
    until: Annotated[date | None, Query(alias="to", description="调查日期止（含），北京时间")] = None,
) -> Response:
    if since and until and until < since:
        raise Invalid([FieldError("/query/to", "period.reversed", "调查期间的止日不能早于起日")])
    require_reach(actor, village)
    surveyed = request.app.state.survey_ledger(db, village=village, since=since, until=until)
    content = documents.summary_xlsx(
        db, actor=actor, village=village, mask=for_actor(actor), surveyed=surveyed, since=since, until=until
    )
    return _download(content, XLSX, f"{village}-个人信息汇总表.xlsx")


@router.get("/persons/{id_number}/registration.pdf", summary="某人的预填登记表")
def person_form(id_number: str, actor: Reader, db: Db) -> Response:
    return _download(
        documents.registration_pdf(db, actor=actor, id_numbers=[id_number], mask=for_actor(actor)),
        "application/pdf",
        "全民参保登记表.pdf",
    )


@router.get("/persons/{id_number}/history", summary="登记信息变更历史（原值 → 新值）")
def person_history(id_number: str, actor: Reader, db: Db) -> list[dict[str, Any]]:
    return persons.history(db, actor=actor, id_number=id_number)


class Member(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    card_no: str = Field(min_length=1, max_length=32, description="全民参保登记调查证编号")
    user_sub: str | None = Field(default=None, max_length=64, description="调查员的登录用户名")
    phone: str | None = Field(default=None, max_length=20)


class Team(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    area: str = Field(pattern=r"^\d{6,12}$")
    members: list[Member] = Field(min_length=1, max_length=3)


@router.post("/survey-teams", status_code=201, summary="组建调查小组（2–3人，各持调查证）")
def create_team(body: Team, actor: Planner, db: Db) -> dict[str, Any]:
    return survey.create_team(
        db, actor=actor, name=body.name, area=body.area, members=[m.model_dump() for m in body.members]
    )


@router.get("/survey-teams", summary="本区域的调查小组")
def list_teams(actor: Reader, db: Db, area: Area | None = None) -> list[dict[str, Any]]:
    return survey.get_all(db, actor=actor, area=area or actor.area)


@router.get("/survey-teams/{team_id}", summary="调查小组")
def get_team(team_id: RowId, actor: Reader, db: Db) -> dict[str, Any]:
    return survey.get(db, actor=actor, team_id=team_id)


@router.put("/survey-teams/{team_id}/members", summary="调整小组成员")
def update_members(team_id: RowId, members: list[Member], actor: Planner, db: Db) -> dict[str, Any]:
    return survey.update_members(db, actor=actor, team_id=team_id, members=[m.model_dump() for m in members])


@router.delete("/survey-teams/{team_id}", status_code=204, summary="停用调查小组（保留历史）")
def delete_team(team_id: RowId, actor: Planner, db: Db) -> None:
    survey.delete(db, actor=actor, team_id=team_id)
