"""Migrating 10,000 running cases on PostgreSQL: every case gets a result, every moved case stays
consistent (its next task completes), several workers share the job without doing a case twice."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from sqlalchemy import func, select

from canbao.audit.models import AuditEvent
from engine import cases, definitions, migration
from engine.change_models import MigrationItem, MigrationJob
from engine.models import Case, CaseTask

from ..engine.office import MANAGER, PLATFORM1, SURVEYOR1, VILLAGE, id_number, registration
from .variants import with_precheck

CASES = 10_000
PAST_THE_CHANGE = 100  # completed the survey already: v2 changes it, so these must stay
WORKERS = 4
BATCH = 500  # cases started or completed per transaction (test set-up, not the migration itself)


def persons(n: int) -> list[str]:
    return [
        id_number((date(1950, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d"), f"{100 + i % 900}")
        for i in range(n)
    ]


def in_batches(db, items: Sequence, work: Callable) -> list:
    """`work(session, item)` for every item, BATCH per transaction, on WORKERS threads."""

    def run(chunk: Sequence) -> list:
        with db.sessions() as s, s.begin():
            return [work(s, item) for item in chunk]

    chunks = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
    with ThreadPoolExecutor(WORKERS) as pool:
        return [r for done in pool.map(run, chunks) for r in done]


def complete(db, pairs: Sequence[tuple[str, object]], actor, data: Callable[[str], dict]) -> None:
    def work(s, pair):
        guid, person = pair
        cases.complete(s, actor=actor, task_id=guid, data=data(person))

    in_batches(db, pairs, work)


def ready_tasks(db, spec_name: str) -> dict[int, str]:
    with db.sessions() as s:
        rows = s.execute(
            select(CaseTask.case_id, CaseTask.task_guid).where(
                CaseTask.state == "ready", CaseTask.spec_name == spec_name
            )
        ).all()
    return dict(rows)


def test_ten_thousand_cases_migrate_with_a_result_each_and_stay_consistent(office):
    db = office.db
    people = persons(CASES)
    started = in_batches(
        db,
        people,
        lambda s, p: (
            cases.start(
                s, actor=PLATFORM1, process_key="survey_registration", area=VILLAGE, person_id=p, team_id=1
            ).id
        ),
    )
    person_of = dict(zip(started, people, strict=True))
    surveys = ready_tasks(db, "survey")
    past = started[:PAST_THE_CHANGE]
    complete(db, [(surveys[c], person_of[c]) for c in past], SURVEYOR1, registration)
    with db.sessions() as s, s.begin():
        v2 = definitions.deploy(s, actor=MANAGER, bpmn_xml=with_precheck(), comment="增加材料预审")[0]
        job_id = migration.request(
            s, actor=MANAGER, key="survey_registration", from_version=1, to_version=2, dry_run=False
        ).id

    with ThreadPoolExecutor(WORKERS) as pool:
        handled = sum(
            pool.map(lambda _: migration.run(db.sessions, job_id=job_id, limit=CASES), range(WORKERS))
        )

    assert handled == CASES
    with db.sessions() as s:
        job = s.get(MigrationJob, job_id)
        assert (job.status, job.total) == ("done", CASES)
        assert migration.counts(s, job=job) == {
            "pending": 0,
            "migrated": CASES - PAST_THE_CHANGE,
            "movable": 0,
            "refused": PAST_THE_CHANGE,
            "skipped": 0,
            "failed": 0,
        }
        refused = s.scalars(select(MigrationItem).where(MigrationItem.outcome == "refused")).all()
        assert sorted(i.case_id for i in refused) == sorted(past)
        assert all("survey" in i.reason and i.report["blockers"] for i in refused)
        moved = s.execute(
            select(MigrationItem.case_id, MigrationItem.report).where(MigrationItem.outcome == "migrated")
        ).all()
        assert all(
            r["now_at"] == [{"element": "survey", "name": "入户调查登记", "state": "ready"}] for _, r in moved
        )
        on_version = dict(
            s.execute(select(Case.definition_id, func.count()).group_by(Case.definition_id)).all()
        )
        assert on_version[v2.id] == CASES - PAST_THE_CHANGE
        migrate_events = s.scalar(select(func.count()).where(AuditEvent.action == "case.migrate"))
        assert migrate_events == CASES - PAST_THE_CHANGE

    # Consistent: each moved case's waiting survey (same task, same inbox row) completes, into the new task.
    moved_ids = {case_id for case_id, _ in moved}
    assert {c: g for c, g in ready_tasks(db, "survey").items() if c in moved_ids} == {
        c: surveys[c] for c in moved_ids
    }
    complete(db, [(surveys[c], person_of[c]) for c in sorted(moved_ids)], SURVEYOR1, registration)
    assert set(ready_tasks(db, "precheck")) == moved_ids
    assert set(ready_tasks(db, "initial_review")) == set(past)
