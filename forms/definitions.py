"""The forms, written as JSON Schema (draft 2020-12) with code lists expanded into labelled choices.

Field names are the data contract the engine and the registry are written against; do not rename them.
The field list of 附件1《全民参保登记表》 and 附件2《全民参保登记个人信息汇总表》 was not available (see
shared/notes/domain-research.md §1.2): the fields follow the evidence of §1.3–1.4 and are marked so.

Cross-field rules that JSON Schema can say are here (if/then); the others are in `rules.py`.
"""

from __future__ import annotations

from typing import Any

from . import codes

MAX_INSURANCE = 20  # 险种 relationships on one 登记表

DRAFT = "https://json-schema.org/draft/2020-12/schema"
VERSION = "1"
NAME_MAX = 50
ADDRESS_MAX = 200
TEXT_MAX = 500
UNVERIFIED = (
    "字段依据：domain-research §1.3–1.4（各地实践与接口的佐证）；"
    "人社厅发〔2015〕44号附件的官方字段表尚未取得，取得后据以核对。"
)

Schema = dict[str, Any]


# -- building blocks ------------------------------------------------------------------------------------


def text(
    title: str, max_len: int, *, description: str = "", multiline: bool = False, check: str = "text"
) -> Schema:
    node: Schema = {"type": "string", "title": title, "minLength": 1, "maxLength": max_len, "x-check": check}
    if multiline:
        node["x-multiline"] = True
    if description:
        node["description"] = description
    return node


def pattern(title: str, regex: str, max_len: int, *, description: str = "", code: str = "") -> Schema:
    node: Schema = {"type": "string", "title": title, "minLength": 1, "maxLength": max_len, "pattern": regex}
    if description:
        node["description"] = description
    if code:
        node["x-codes"] = {"pattern": code}
    return node


def code(list_key: str, title: str = "", *, description: str = "") -> Schema:
    """A field holding a code of list `list_key`, rendered as a select of labelled choices."""
    lst = codes.get(list_key)
    node: Schema = {
        "type": "string",
        "title": title or lst.title,
        "maxLength": max(len(c.code) for c in lst.codes),
        "oneOf": codes.choices(list_key),
        "x-code": {
            "list": lst.key,
            "title": lst.title,
            "system": lst.system,
            "version": lst.version,
            "standard": lst.standard,
        },
    }
    if description:
        node["description"] = description
    return node


def division(title: str, level: str, *, accept: tuple[str, ...] = (), description: str = "") -> Schema:
    """A 统计用区划代码 that must exist in the division table; `x-division` tells the web to render a
    picker narrowing province → … → `level`."""
    digits = 12 if level == "village" else 6
    node: Schema = {
        "type": "string",
        "title": title,
        "minLength": digits,
        "maxLength": digits,
        "pattern": f"^[0-9]{{{digits}}}$",
        "x-codes": {k: "division.format" for k in ("pattern", "minLength", "maxLength")},
        "x-messages": {
            k: f"{title}：应为{digits}位数字的区划代码" for k in ("pattern", "minLength", "maxLength")
        },
        "x-division": {"level": level, **({"accept": list(accept)} if accept else {})},
    }
    if description:
        node["description"] = description
    return node


def day(title: str, *, not_future: bool = True, description: str = "") -> Schema:
    node: Schema = {"type": "string", "title": title, "format": "date", "minLength": 10, "maxLength": 10}
    if not_future:
        node["x-not-future"] = True
    node["x-codes"] = {k: "date.format" for k in ("minLength", "maxLength")}
    node["x-messages"] = {k: f"{title}：应为 YYYY-MM-DD 格式的有效日期" for k in ("minLength", "maxLength")}
    if description:
        node["description"] = description
    return node


def boolean(title: str, *, description: str = "") -> Schema:
    node: Schema = {"type": "boolean", "title": title}
    if description:
        node["description"] = description
    return node


def obj(title: str, properties: dict[str, Schema], required: list[str], **extra: Any) -> Schema:
    return {
        "type": "object",
        "title": title,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        **extra,
    }


def array(title: str, items: Schema, *, max_items: int, min_items: int = 0, **extra: Any) -> Schema:
    node: Schema = {"type": "array", "title": title, "items": items, "maxItems": max_items, **extra}
    if min_items:
        node["minItems"] = min_items
    return node


def id_number(title: str = "证件号码") -> Schema:
    return {
        "type": "string",
        "title": title,
        "description": (
            "证件类型为居民身份证（01）时为18位公民身份号码（GB 11643-1999，末位校验码X大写）；"
            "全角数字、小写x与15位旧号码可以接受，保存时统一转换为18位。其他证件按证件上所载填写。"
        ),
        "minLength": 1,
        "maxLength": 32,
        # Letters and digits; 军官证、警官证 numbers are written with characters (南字第2019001号).
        "pattern": r"^\s*[0-9A-Za-z０-９Ａ-Ｚａ-ｚ()（）\-\u4e00-\u9fff]+\s*$",
        "x-codes": {"pattern": "id_number.format"},
        "x-messages": {"pattern": f"{title}：只能由数字、字母和汉字组成"},
        "x-personal": "id_number",
    }


def ss_number() -> Schema:
    return {
        "type": "string",
        "title": "社会保障号码",
        "description": (
            "证件号码不是社会保障号码时必填（社会保险法第五十八条、规程第八条：以社会保障号码为每个人唯一标识）："
            "中国公民填公民身份号码；港澳台居民填港澳台居民居住证号码；持2023年版永居证的外国人填永居证号码；"
            "其他人员填经办机构编制的社会保障号码（见社会保障卡）。"
        ),
        "minLength": 1,
        "maxLength": 32,
        "pattern": r"^\s*[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]+\s*$",
        "x-codes": {"pattern": "ss_number.format"},
        "x-messages": {"pattern": "社会保障号码：只能由数字和字母组成"},
        "x-personal": "id_number",
    }


def person_name(title: str = "姓名") -> Schema:
    return text(
        title,
        NAME_MAX,
        check="person_name",
        description="汉字姓名，少数民族姓名用间隔号“·”分隔；外籍人员可用外文字母。",
    )


def phone(title: str = "联系电话") -> Schema:
    return {
        "type": "string",
        "title": title,
        "description": "11位手机号码，或“区号-号码”格式的固定电话（可带“-分机号”）。",
        "minLength": 1,
        "maxLength": 20,
        "x-check": "phone",
        "x-personal": "phone",
    }


def _codes_where(list_key: str, subset: str) -> list[str]:
    value = codes.get(list_key).extra[subset]
    return [value] if isinstance(value, str) else list(value)


# -- 全民参保登记表 ------------------------------------------------------------------------------------


def registration() -> Schema:
    active = _codes_where("enrollment_status", "active")
    employed = _codes_where("employment_status", "employed")
    other_reason = _codes_where("uninsured_reason", "other")
    survey_channel = _codes_where("collection_channel", "survey")
    insurance_item = obj(
        "险种参保情况",
        {
            "scheme": code("insurance_scheme"),
            "status": code("enrollment_status"),
            "payment_status": code("payment_status"),
            "place": division(
                "参保地",
                "county",
                accept=("province", "city"),
                description="参保统筹区的6位行政区划代码（省级统筹写 PP0000，市级统筹写 PPCC00）。",
            ),
            "first_date": day("首次参保日期"),
        },
        ["scheme", "status", "place"],
    )
    surveyor = obj(
        "调查员",
        {
            "name": person_name("调查员姓名"),
            "card_no": pattern(
                "调查证编号",
                r"^[0-9A-Za-z\-]+$",
                32,
                description="全民参保登记调查证编号",
                code="survey.card_no",
            ),
        },
        ["name", "card_no"],
    )
    schema = obj(
        "全民参保登记表",
        {
            "id_type": code("id_type"),
            "id_number": id_number("证件号码"),
            "ss_number": ss_number(),
            "name": person_name(),
            "sex": code("sex"),
            "birth_date": day("出生日期"),
            "ethnicity": code("ethnicity"),
            "hukou": obj(
                "户口所在地",
                {
                    "division": division(
                        "户口所在地区划", "village", description="到村（社区）级的12位统计用区划代码"
                    ),
                    "address": text("户口所在地详细地址", ADDRESS_MAX),
                    "nature": code("hukou_nature"),
                },
                ["division"],
                description="中国公民必填；港澳台居民、外国人没有户口，不填。",
            ),
            "residence": obj(
                "常住所在地",
                {
                    "division": division(
                        "常住所在地区划", "village", description="到村（社区）级的12位统计用区划代码"
                    ),
                    "address": text("常住所在地详细地址", ADDRESS_MAX),
                },
                ["division"],
            ),
            "phone": phone(),
            "employment": obj(
                "就业情况",
                {
                    "status": code("employment_status"),
                    "employer": text("就业单位", 100, description="单位就业时填写单位全称"),
                },
                ["status"],
                **{
                    "if": {"properties": {"status": {"enum": employed}}, "required": ["status"]},
                    "then": {
                        "required": ["employer"],
                        "x-codes": {"required": "employment.employer_required"},
                        "x-messages": {"required": "就业单位：单位就业时必填"},
                    },
                },
            ),
            "insurance": array("现参保情况", insurance_item, max_items=MAX_INSURANCE),
            "uninsured_reason": obj(
                "未参保原因",
                {"code": code("uninsured_reason", "未参保原因"), "text": text("未参保原因说明", 200)},
                ["code"],
                **{
                    "if": {"properties": {"code": {"enum": other_reason}}, "required": ["code"]},
                    "then": {
                        "required": ["text"],
                        "x-codes": {"required": "uninsured_reason.text_required"},
                        "x-messages": {"required": "未参保原因说明：选择“其他”时必填"},
                    },
                },
            ),
            "insured_elsewhere": boolean("异地参保", description="是否在户口所在地以外（县外）参保"),
            "guardian": obj(
                "监护人",
                {
                    "name": person_name("监护人姓名"),
                    "id_type": code("id_type", "监护人证件类型", description="不填时按居民身份证（01）校验"),
                    "id_number": id_number("监护人证件号码"),
                    "relation": code("guardian_relation"),
                    "phone": phone("监护人联系电话"),
                },
                ["name", "id_number", "relation"],
                description="未满16周岁的登记人必填。",
            ),
            "survey": obj(
                "采集信息",
                {
                    "channel": code("collection_channel"),
                    "team": pattern("调查小组", r"^[0-9A-Za-z\-_]+$", 64, description="调查小组编号"),
                    "surveyors": array(
                        "调查员",
                        surveyor,
                        max_items=3,
                        min_items=1,
                        **{
                            "x-codes": {"maxItems": "survey.surveyors_count"},
                            "x-messages": {"maxItems": "调查员：入户调查一般以2–3人为一组，最多3人"},
                        },
                    ),
                    "date": day("采集日期"),
                    "signed": boolean(
                        "本人签字确认", description="登记人（或监护人）已在纸质登记表上签字确认"
                    ),
                },
                ["channel", "date"],
                **{
                    "if": {"properties": {"channel": {"enum": survey_channel}}, "required": ["channel"]},
                    "then": {
                        "required": ["team", "surveyors", "signed"],
                        "x-codes": {"required": "survey.required"},
                        "properties": {
                            "surveyors": {
                                "minItems": 2,
                                "x-codes": {"minItems": "survey.surveyors_count"},
                                "x-messages": {"minItems": "调查员：入户调查一般以2–3人为一组，至少2人"},
                            },
                            "signed": {
                                "const": True,
                                "x-codes": {"const": "survey.unsigned"},
                                "x-messages": {
                                    "const": "本人签字确认：入户调查的登记表须经本人（或监护人）签字确认"
                                },
                            },
                        },
                    },
                },
            ),
        },
        ["id_type", "id_number", "name", "sex", "birth_date", "residence", "insurance", "survey"],
        **{
            "$schema": DRAFT,
            "$id": f"urn:canbao:form:registration:{VERSION}",
            "description": "全民参保登记表（人社厅发〔2015〕44号 附件1）。" + UNVERIFIED,
            "x-version": VERSION,
            "x-unverified": True,
            # Whose record the form is about: a case takes only its own person's forms.
            "x-identity": {
                "id_type": "/id_type",
                "id_number": "/id_number",
                "ss_number": "/ss_number",
                "name": "/name",
            },
            # 未参保原因 is required when no 险种 is in an active 参保状态.
            "if": {
                "required": ["insurance"],
                "properties": {
                    "insurance": {
                        "contains": {"required": ["status"], "properties": {"status": {"enum": active}}}
                    }
                },
            },
            "else": {
                "required": ["uninsured_reason"],
                "x-codes": {"required": "uninsured_reason.required"},
                "x-messages": {"required": "未参保原因：没有正常参保的险种时必填"},
            },
        },
    )
    return schema


# -- change request ---------------------------------------------------------------------------------------


def change_request() -> Schema:
    return obj(
        "登记信息变更申请",
        {
            "id_number": id_number("社会保障号码"),
            "changes": array(
                "变更事项",
                obj(
                    "变更事项",
                    {
                        "field": pattern(
                            "变更字段",
                            r"^(/[^/]+)+$",
                            120,
                            description="指向全民参保登记表字段的 JSON Pointer，如 /phone",
                            code="change.field_unknown",
                        ),
                        "old": {"title": "原值", "description": "变更前的值（任意 JSON，限长）"},
                        "new": {
                            "title": "新值",
                            "description": "按全民参保登记表中该字段的规则校验；null 表示清除选填字段",
                        },
                    },
                    ["field", "new"],
                ),
                max_items=50,
                min_items=1,
            ),
            "reason": text("变更原因", TEXT_MAX, multiline=True),
            "evidence": array(
                "证明材料",
                pattern("证明材料编号", r"^[0-9A-Za-z][0-9A-Za-z._:\-]*$", 64, description="归档文档编号"),
                max_items=20,
                uniqueItems=True,
            ),
        },
        ["id_number", "changes", "reason"],
        **{
            "$schema": DRAFT,
            "$id": f"urn:canbao:form:change_request:{VERSION}",
            "description": "登记信息变更申请（规程第二十一条：采集、初审→县级审定→入库），列明原值与新值。",
            "x-version": VERSION,
            "x-identity": {"id_number": "/id_number"},
        },
    )


# -- 公民身份号码更正 -------------------------------------------------------------------------------------


def id_correction() -> Schema:
    return obj(
        "公民身份号码更正申请",
        {
            "id_number": id_number("登记库中现有的公民身份号码"),
            "new_id_number": id_number("更正后的公民身份号码"),
            "reason": text(
                "更正原因", TEXT_MAX, multiline=True, description="如：原登记号码录入错误，以公安户籍为准"
            ),
            "evidence": array(
                "证明材料",
                pattern("证明材料编号", r"^[0-9A-Za-z][0-9A-Za-z._:\-]*$", 64, description="归档文档编号"),
                max_items=20,
                min_items=1,
                uniqueItems=True,
            ),
        },
        ["id_number", "new_id_number", "reason", "evidence"],
        **{
            "$schema": DRAFT,
            "$id": f"urn:canbao:form:id_correction:{VERSION}",
            "description": (
                "更正登记库中错误的公民身份号码：以户籍证明等材料为据，经初审、县级审定后更正，"
                "该人员的登记信息、参保记录和案件随之更正，原号码保留在变更历史中。"
            ),
            "x-version": VERSION,
            "x-identity": {"id_number": "/id_number"},
        },
    )


# -- review decision --------------------------------------------------------------------------------------


def review_decision() -> Schema:
    return obj(
        "审核意见",
        {
            "decision": code("review_decision"),
            "reason": text("审核意见说明", TEXT_MAX, multiline=True),
            "return_items": array(
                "退回补正项",
                pattern(
                    "退回字段",
                    r"^(/[^/]+)+$",
                    120,
                    description="需要补正的全民参保登记表字段（JSON Pointer）",
                    code="review.item_unknown",
                ),
                max_items=50,
                uniqueItems=True,
            ),
        },
        ["decision"],
        **{
            "$schema": DRAFT,
            "$id": f"urn:canbao:form:review_decision:{VERSION}",
            "description": "初审、审定的结论：通过；退回补正（须说明原因）；不予通过（须说明原因）。",
            "x-version": VERSION,
            "allOf": [
                {
                    "if": {
                        "properties": {"decision": {"enum": ["return", "reject"]}},
                        "required": ["decision"],
                    },
                    "then": {
                        "required": ["reason"],
                        "x-codes": {"required": "review.reason_required"},
                        "x-messages": {"required": "审核意见说明：退回或不予通过时必须说明原因"},
                    },
                },
                {
                    "if": {"properties": {"decision": {"const": "approve"}}, "required": ["decision"]},
                    "then": {
                        "properties": {
                            "return_items": {
                                "maxItems": 0,
                                "x-codes": {"maxItems": "review.items_on_approve"},
                                "x-messages": {"maxItems": "退回补正项：审核通过时不能列出退回补正项"},
                            }
                        }
                    },
                },
            ],
        },
    )


# -- 个人信息汇总表 ---------------------------------------------------------------------------------------

SUMMARY_SCHEMES = ("110", "120", "170", "210", "310", "390", "410", "510")


def summary_row() -> Schema:
    schemes = codes.get("insurance_scheme")
    per_scheme = {
        f"status_{s}": code("enrollment_status", f"{schemes.label(s)}参保状态")
        for s in SUMMARY_SCHEMES
        if s in schemes
    }
    properties: dict[str, Schema] = {
        "seq": {"type": "integer", "title": "序号", "minimum": 1, "maximum": 1_000_000},
        "name": person_name(),
        "id_number": id_number("社会保障号码"),
        "sex": code("sex"),
        "birth_date": day("出生日期"),
        "ethnicity": code("ethnicity"),
        "hukou_division": division("户口所在地区划", "village"),
        "hukou_address": text("户口所在地详细地址", ADDRESS_MAX),
        "hukou_nature": code("hukou_nature"),
        "residence_division": division("常住所在地区划", "village"),
        "residence_address": text("常住所在地详细地址", ADDRESS_MAX),
        "phone": phone(),
        "employment_status": code("employment_status"),
        "employer": text("就业单位", 100),
        **per_scheme,
        "insured_elsewhere": boolean("异地参保"),
        "uninsured_reason": code("uninsured_reason", "未参保原因"),
        "uninsured_reason_text": text("未参保原因说明", 200),
        "survey_date": day("调查日期"),
        "survey_team": text("调查小组", 100),
        "surveyors": text("调查员", 300, description="调查员姓名及调查证编号，以“、”分隔"),
        "remarks": text("备注", 200, multiline=True),
    }
    return obj(
        "全民参保登记个人信息汇总表（行）",
        properties,
        ["seq", "name", "id_number", "sex", "birth_date", "hukou_division", "residence_division"],
        **{
            "$schema": DRAFT,
            "$id": f"urn:canbao:form:summary_row:{VERSION}",
            "description": (
                "《全民参保登记个人信息汇总表》（规程附件2）的一行，按社区（村）汇总导出。"
                "官方列表未核实（domain-research §1.2）：各列由全民参保登记表字段推导，取得附件2后据以调整。"
            ),
            "x-version": VERSION,
            "x-unverified": True,
            "x-columns": list(properties),
        },
    )


FORMS = {
    "registration": registration,
    "change_request": change_request,
    "id_correction": id_correction,
    "review_decision": review_decision,
    "summary_row": summary_row,
}
