"""Which roles may perform which operation. One table, read by the one authorization dependency."""

from __future__ import annotations

STAFF_IN_CASES = {"surveyor", "platform_reviewer", "counter_clerk", "county_approver"}
OVERSIGHT = {"city_admin", "city_hrss", "province_admin", "ministry"}

POLICY: dict[str, tuple[str, set[str]]] = {
    # operation: (what it is, in Chinese, for the refusal message; roles allowed)
    "tasks.read": ("查看待办任务", STAFF_IN_CASES | {"citizen"}),
    "tasks.work": ("办理任务", STAFF_IN_CASES | {"citizen"}),
    "tasks.assign": ("分派任务", {"platform_reviewer", "county_approver"}),
    "tasks.supervise": ("督办超期任务", {"county_approver"}),
    "cases.start": (
        "发起案件",
        {"surveyor", "platform_reviewer", "counter_clerk", "county_approver", "citizen"},
    ),
    "cases.read": ("查看案件", STAFF_IN_CASES | OVERSIGHT | {"auditor", "citizen"}),
    "persons.read": ("查看人员登记信息", STAFF_IN_CASES | OVERSIGHT | {"auditor", "citizen"}),
    "forms.read": ("查看表单", STAFF_IN_CASES | OVERSIGHT | {"auditor", "citizen", "process_manager"}),
    "definitions.read": ("查看流程定义", STAFF_IN_CASES | OVERSIGHT | {"auditor", "process_manager"}),
    "definitions.write": ("部署和迁移流程", {"process_manager"}),
    "authorizations.read": (
        "查看审定授权",
        {"city_admin", "city_hrss", "county_approver", "province_admin", "ministry", "auditor"},
    ),
    # Which city body grants which kind is checked by engine.grants (第十九、二十一条).
    "authorizations.write": ("授予或撤销审定授权", {"city_admin", "city_hrss"}),
    # Which case, and whether the actor works it, is checked per case by archive.documents.
    "documents.write": ("上传材料", STAFF_IN_CASES | {"citizen"}),
    "documents.read": ("查看材料", STAFF_IN_CASES | OVERSIGHT | {"auditor", "citizen"}),
    "registry.import": ("导入比对数据", {"county_approver", "city_admin", "province_admin"}),
    "registry.compare": ("发起信息比对", {"county_approver", "city_admin", "province_admin", "ministry"}),
    "survey.plan": ("安排入户调查", {"platform_reviewer", "county_approver"}),
    "survey.read": ("查看调查名单", STAFF_IN_CASES | {"city_admin"}),
    "survey.add_person": ("补充调查对象", {"surveyor", "platform_reviewer"}),
    "stats.read": ("查看统计数据", OVERSIGHT | {"county_approver", "platform_reviewer", "auditor"}),
    "stats.export": ("导出统计报表", OVERSIGHT | {"county_approver", "platform_reviewer", "auditor"}),
    "audit.read": ("查看审计日志", {"auditor"}),
    "audit.verify": ("校验审计日志", {"auditor"}),
    "audit.export": ("导出案件经办记录", {"auditor"}),
    "audit.anchor": ("写入审计锚点", OVERSIGHT),
    # Citizens see who read their own data (个人信息保护法 第四十五条); the route checks it is theirs.
    "audit.access_log": ("查看个人信息访问记录", {"auditor", "citizen"}),
    # 第十三条: the counter page, where a clerk looks a person up and collects what is missing.
    "counter.work": ("办理窗口业务", {"counter_clerk"}),
    # 第十四、二十三条: a citizen's own record, sources, reminders and printed 参保证明.
    "own.read": ("查询本人参保登记信息", {"citizen"}),
}

# Who leads which lanes: sees, assigns and releases their tasks (a county oversees its townships' work).
LEADS: dict[str, set[str]] = {
    "platform_reviewer": {"surveyor", "platform_reviewer"},
    "county_approver": {"surveyor", "platform_reviewer", "counter_clerk", "county_approver"},
}

# Which processes each role may start a case of.
START_ROLES: dict[str, set[str]] = {
    "survey_registration": {"platform_reviewer", "county_approver"},
    "counter_collection": {"counter_clerk"},
    "self_service_update": {"citizen"},
    "change_approval": {"surveyor", "platform_reviewer"},
    "id_correction": {"platform_reviewer", "county_approver"},
}

# Roles that see full 公民身份号码 and phone numbers; everyone else sees them masked.
UNMASKED_ROLES = STAFF_IN_CASES | {"citizen"}
