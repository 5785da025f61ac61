"""One valid document per form: shown in each schema's `examples`, used by the tests and the benchmark.

Division codes are real (NBS 2023, 济南市历下区); ID numbers are synthetic with correct check characters.
"""

from __future__ import annotations

import copy
from typing import Any

REGISTRATION: dict[str, Any] = {
    "id_type": "01",
    "id_number": "370102199001011231",
    "name": "张三",
    "sex": "1",
    "birth_date": "1990-01-01",
    "ethnicity": "01",
    "hukou": {"division": "370102001002", "address": "历下区解放桥社区文化东路1号", "nature": "10"},
    "residence": {"division": "370102002003", "address": "历下区千佛山东路2号"},
    "phone": "13800000000",
    "employment": {"status": "11", "employer": "济南市某某商贸有限公司"},
    "insurance": [
        {
            "scheme": "110",
            "status": "1",
            "payment_status": "1",
            "place": "370100",
            "first_date": "2015-03-01",
        },
        {"scheme": "310", "status": "1", "place": "370100", "first_date": "2015-03-01"},
    ],
    "insured_elsewhere": False,
    "survey": {
        "channel": "survey",
        "team": "370102001-01",
        "surveyors": [{"name": "李四", "card_no": "DC370102001"}, {"name": "王五", "card_no": "DC370102002"}],
        "date": "2025-06-18",
        "signed": True,
    },
}

# A child without any active enrollment: needs a guardian and a 未参保原因.
REGISTRATION_MINOR: dict[str, Any] = {
    "id_type": "01",
    "id_number": "370102201506010023",
    "name": "阿依古丽·买买提",
    "sex": "2",
    "birth_date": "2015-06-01",
    "ethnicity": "05",
    "hukou": {"division": "370102001002"},
    "residence": {"division": "370102001002"},
    "insurance": [],
    "uninsured_reason": {"code": "08"},
    "guardian": {
        "name": "买买提·吐尔逊",
        "id_number": "370102198808083215",
        "relation": "51",
        "phone": "0531-86000000",
    },
    "survey": {"channel": "counter", "date": "2025-06-18"},
}

CHANGE_REQUEST: dict[str, Any] = {
    "id_number": "370102199001011231",
    "changes": [
        {"field": "/phone", "old": "13800000000", "new": "13900000000"},
        {"field": "/residence/division", "old": "370102002003", "new": "370102001003"},
    ],
    "reason": "本人更换手机号码并搬迁至新住址",
    "evidence": ["doc-20250618-0001"],
}

ID_CORRECTION: dict[str, Any] = {
    "id_number": "370102199001011231",
    "new_id_number": "370102199001011215",
    "reason": "原登记时号码录入错误，以户口簿为准",
    "evidence": ["doc-20250618-0002"],
}

REVIEW_DECISION: dict[str, Any] = {
    "decision": "return",
    "reason": "联系电话无法接通，请核实后补正",
    "return_items": ["/phone"],
}

SUMMARY_ROW: dict[str, Any] = {
    "seq": 1,
    "name": "张三",
    "id_number": "370102199001011231",
    "sex": "1",
    "birth_date": "1990-01-01",
    "ethnicity": "01",
    "hukou_division": "370102001002",
    "hukou_address": "历下区解放桥社区文化东路1号",
    "hukou_nature": "10",
    "residence_division": "370102002003",
    "residence_address": "历下区千佛山东路2号",
    "phone": "13800000000",
    "employment_status": "11",
    "employer": "济南市某某商贸有限公司",
    "status_110": "1",
    "status_310": "1",
    "insured_elsewhere": False,
    "survey_date": "2025-06-18",
    "survey_team": "370102001-01",
    "surveyors": "李四（DC370102001）、王五（DC370102002）",
}

EXAMPLES = {
    "registration": REGISTRATION,
    "change_request": CHANGE_REQUEST,
    "id_correction": ID_CORRECTION,
    "review_decision": REVIEW_DECISION,
    "summary_row": SUMMARY_ROW,
}


def example(key: str) -> dict[str, Any]:
    """A fresh copy of the example document of form `key`."""
    return copy.deepcopy(EXAMPLES[key])
