"""Validation throughput: 1,000,000 全民参保登记表 documents (mostly valid, some broken) on one core.

    python -m bench.validate [--forms N] [--pool P] [--invalid-share S] [--seed K]

A pool of distinct synthetic forms (real division codes, ID numbers with correct check characters,
minors with guardians, household surveys and counter collections) is validated round-robin. The
baseline, measured in the same run on a sample of the same pool, is the reference JSON Schema validator
(`jsonschema`, Draft 2020-12) on the same schema: it checks structure only (no ID number, division,
phone or cross-field rules), so it does less work than `forms.validate`.

Rates are documents per second of the process's CPU time: validation runs on one thread, so that is
the throughput of one core even while other work shares the machine; the wall-clock rate and the load
average are printed beside it. The last line is one JSON object: {"forms_per_s": …, …}.
Bar: ≥ 20,000 forms/s.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from typing import Any

import jsonschema

import forms
from forms import divisions, idnumber
from forms.checks import age_on

BAR = 20_000
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅玉文志海燕鹏飞宇晨浩然子轩欣怡佳琪雨萱"
MINORITY = ["阿依古丽·买买提", "买买提·吐尔逊", "古丽娜尔·艾力", "扎西·次仁", "热依拉·阿不都"]
SCHEMES = ["110", "120", "170", "210", "310", "390", "410", "510"]
SURVEY_DAY = date(2025, 6, 18)


def _id_number(rng: random.Random, born: date, sex: str, area: str) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if sex == "1" else 0)
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + idnumber.check_char(body)


def _name(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(MINORITY)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.85:
        return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    return f"0531-{rng.randrange(2, 10)}{rng.randrange(10**7):07d}"


def make_valid(rng: random.Random, villages: list[str], counties: list[str]) -> dict[str, Any]:
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, (date(2024, 12, 31) - date(1930, 1, 1)).days))
    sex = rng.choice("12")
    hukou = rng.choice(villages)
    doc: dict[str, Any] = {
        "id_type": "01",
        "id_number": _id_number(rng, born, sex, rng.choice(counties)),
        "name": _name(rng),
        "sex": sex,
        "birth_date": born.isoformat(),
        "ethnicity": rng.choice(["01"] * 9 + ["03", "05", "08"]),
        "hukou": {
            "division": hukou,
            "address": f"{rng.randrange(1, 300)}号{rng.randrange(1, 30)}单元",
            "nature": "10",
        },
        "residence": {"division": rng.choice([hukou, rng.choice(villages)])},
        "insurance": [],
        "survey": {"channel": "counter", "date": SURVEY_DAY.isoformat()},
    }
    if rng.random() < 0.8:
        doc["phone"] = _phone(rng)
    age = age_on(born, SURVEY_DAY)
    if 18 <= age < 60:
        status = rng.choice(["11", "11", "12", "13", "14", "21"])
        doc["employment"] = {"status": status}
        if status == "11":
            doc["employment"]["employer"] = f"济南市{rng.choice(GIVEN)}{rng.choice(GIVEN)}有限公司"
    first = max(born + timedelta(days=18 * 366), date(1995, 1, 1))
    for scheme in rng.sample(SCHEMES, rng.choice((0, 1, 2, 2, 3))):
        item: dict[str, Any] = {"scheme": scheme, "status": rng.choice("1112"), "place": rng.choice(counties)}
        if first < SURVEY_DAY:
            item["first_date"] = (
                first + timedelta(days=rng.randrange(0, (SURVEY_DAY - first).days))
            ).isoformat()
        doc["insurance"].append(item)
    if not any(i["status"] == "1" for i in doc["insurance"]):
        code = rng.choice(["01", "02", "03", "05", "07", "99"])
        doc["uninsured_reason"] = {"code": code, **({"text": "常年外出务工"} if code == "99" else {})}
    doc["insured_elsewhere"] = rng.random() < 0.1
    if age < 16:
        parent_born = born - timedelta(days=rng.randrange(20 * 365, 40 * 365))
        doc["guardian"] = {
            "name": _name(rng),
            "id_number": _id_number(rng, parent_born, "1", rng.choice(counties)),
            "relation": "51",
            "phone": _phone(rng),
        }
    if rng.random() < 0.7:
        team = rng.randrange(1, 99)
        doc["survey"] = {
            "channel": "survey",
            "team": f"{hukou[:9]}-{team:02d}",
            "surveyors": [
                {"name": _name(rng), "card_no": f"DC{hukou[:6]}{team:02d}{k}"}
                for k in range(rng.choice((2, 2, 3)))
            ],
            "date": SURVEY_DAY.isoformat(),
            "signed": True,
        }
    return doc


def _bad_checksum(d: dict[str, Any], rng: random.Random) -> None:
    n = d["id_number"]
    d["id_number"] = n[:17] + ("0" if n[17] != "0" else "1")


BREAKERS = [
    _bad_checksum,
    lambda d, rng: d.update(sex="2" if d["sex"] == "1" else "1"),
    lambda d, rng: d["hukou"].update(division=d["hukou"]["division"][:9] + "999"),
    lambda d, rng: d.update(phone="1234567"),
    lambda d, rng: d.pop("residence"),
    lambda d, rng: d.update(nickname="x"),
    lambda d, rng: d.update(insured_elsewhere="否"),
    lambda d, rng: d.update(name="<script>alert(1)</script>"),
    lambda d, rng: d["hukou"].update(address="很长的地址" * 100),
    lambda d, rng: d.update(name=d["name"] + "\u200b"),
    lambda d, rng: d.update(birth_date="1990-02-30"),
    lambda d, rng: d.update(insurance=[], uninsured_reason=None) or d.pop("uninsured_reason"),
    lambda d, rng: d.update(
        survey={
            "channel": "survey",
            "team": "t1",
            "date": "2025-06-18",
            "signed": True,
            "surveyors": [{"name": "李四", "card_no": "DC1"}],
        }
    ),
]


def build_pool(size: int, invalid_share: float, seed: int) -> tuple[list[dict[str, Any]], list[bool]]:
    rng = random.Random(seed)
    idx = divisions.index()
    villages = sorted(c for c in idx.names if len(c) == 12)
    counties = sorted(c for c in idx.names if len(c) == 6 and c[:2] in ("11", "37", "44", "53", "65"))
    pool, broken = [], []
    for _ in range(size):
        doc = make_valid(rng, villages, counties)
        bad = rng.random() < invalid_share
        if bad:
            doc = copy.deepcopy(doc)
            rng.choice(BREAKERS)(doc, rng)
        pool.append(doc)
        broken.append(bad)
    return pool, broken


def rate(docs: list[dict[str, Any]], n: int, check) -> float:
    """Documents per second of CPU time of this (single-threaded) process."""
    size = len(docs)
    start = time.process_time()
    for i in range(n):
        check(docs[i % size])
    return n / (time.process_time() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--invalid-share", type=float, default=0.1)
    parser.add_argument("--baseline-sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2015)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    validate = forms.validate
    validate("registration", forms.example("registration"))  # compile the schema, load the divisions
    warm = time.perf_counter() - t0
    pool, broken = build_pool(args.pool, args.invalid_share, args.seed)
    results = [validate("registration", d) for d in pool]
    wrongly_valid = sum(1 for r, b in zip(results, broken, strict=True) if b and not r)
    wrongly_invalid = [r for r, b in zip(results, broken, strict=True) if not b and r]
    if wrongly_invalid:
        print(
            f"generator bug: {len(wrongly_invalid)} intended-valid forms fail, e.g. {wrongly_invalid[0]}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    error_codes: dict[str, int] = {}
    for r in results:
        for e in r:
            error_codes[e.code] = error_codes.get(e.code, 0) + 1

    valid_docs = [d for d, b in zip(pool, broken, strict=True) if not b]
    invalid_docs = [d for d, b in zip(pool, broken, strict=True) if b]

    def ours(doc: dict[str, Any]) -> object:
        return validate("registration", doc)

    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    errors_seen = 0
    size = len(pool)
    for i in range(args.forms):
        if validate("registration", pool[i % size]):
            errors_seen += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # One thread: CPU time is the time of the one core it ran on. On a shared machine the wall clock also
    # counts the time other processes held that core, so the headline uses CPU time and both are shown.
    forms_per_s = args.forms / cpu
    wall_per_s = args.forms / elapsed

    valid_rate = rate(valid_docs, min(args.forms, 200_000), ours)
    invalid_rate = rate(invalid_docs, min(args.forms // 10, 50_000), ours) if invalid_docs else 0.0
    reference = jsonschema.Draft202012Validator(forms.get("registration"))
    sample = pool[: args.baseline_sample]
    baseline = rate(sample, len(sample), lambda d: list(reference.iter_errors(d)))

    print(f"schema compile + division index load: {warm * 1000:.0f} ms")
    print(
        f"pool: {size} distinct forms, {sum(broken)} broken ({args.invalid_share:.0%}); "
        f"{wrongly_valid} broken forms not caught"
    )
    print(f"errors by code in the pool: {dict(sorted(error_codes.items(), key=lambda kv: -kv[1]))}")
    print(
        f"forms.validate: {args.forms:,} forms, {errors_seen:,} with errors, in {cpu:.2f} s of CPU time = "
        f"{forms_per_s:,.0f} forms/s ({1e6 / forms_per_s:.1f} µs/form); wall clock {elapsed:.2f} s = "
        f"{wall_per_s:,.0f} forms/s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"  valid forms only:   {valid_rate:,.0f} forms/s")
    print(f"  invalid forms only: {invalid_rate:,.0f} forms/s")
    print(
        f"baseline jsonschema Draft202012Validator.iter_errors (structure only): {baseline:,.0f} forms/s CPU "
        f"on {len(sample):,} forms; forms.validate is {forms_per_s / baseline:.1f}× faster"
    )
    print(f"bar: ≥ {BAR:,} forms/s on one core: {'met' if forms_per_s >= BAR else 'NOT met'}")
    print(
        json.dumps(
            {
                "forms_per_s": round(forms_per_s),
                "forms": args.forms,
                "invalid_share": args.invalid_share,
                "us_per_form": round(1e6 / forms_per_s, 2),
                "wall_clock_forms_per_s": round(wall_per_s),
                "valid_forms_per_s": round(valid_rate),
                "invalid_forms_per_s": round(invalid_rate),
                "baseline_jsonschema_forms_per_s": round(baseline),
                "speedup_vs_baseline": round(forms_per_s / baseline, 1),
                "bar": BAR,
                "meets_bar": forms_per_s >= BAR,
            }
        )
    )


if __name__ == "__main__":
    main()
