"""Exchange with the upper level between two databases: the county (SQLite) and the province (PostgreSQL)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from canbao.actors import Actor
from canbao.audit import signing
from registry import exchange, imports, persons
from registry.common import AreaForbidden
from registry.models import Enrollment, ExchangeBatch, Person
from tests.registry.helpers import (
    CLERK,
    ENR_HEADER,
    POP_HEADER,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
    registration,
)

PROVINCE = Actor(sub="province1", roles=("province_admin",), area="37")


def _trust(of: Path, by: Path) -> None:
    """Hand one office's public signing keys to the other (out of band, as a file)."""
    (by / exchange.KEYS_DIR).mkdir(parents=True, exist_ok=True)
    for key in signing.key_dir(of).glob("*.pub.pem"):
        shutil.copy(key, by / exchange.KEYS_DIR / key.name)


@pytest.fixture
def offices(tmp_path) -> tuple[Path, Path]:
    """The data directories (and so the signing keys) of the county and of the province, each trusting
    the other's key."""
    county, province = tmp_path / "county", tmp_path / "province"
    for office in (county, province):
        signing.signer(office)
    _trust(county, province)
    _trust(province, county)
    return county, province


def test_round_trip_between_two_registries(db, sqlite_database, offices):
    county, province = sqlite_database, db
    county_dir, province_dir = offices
    county.reset()
    a, b = pid(seq=1), pid(seq=2)
    with county.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(a, "郑一"), pop_row(b, "郑二")]),
        )
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390")]),
        )
        first, batch = exchange.export_changes(s, actor=CLERK, area="370102", data_dir=county_dir)
        assert batch.origin_batch == 1 and batch.counts == {"persons": 2, "enrollments": 1}
        assert (
            exchange.export_changes(s, actor=CLERK, area="370102", data_dir=county_dir) is None
        )  # nothing new

    with province.sessions() as s, s.begin():
        out = exchange.import_changes(s, actor=PROVINCE, content=first, data_dir=province_dir)
        assert (out["persons_created"], out["enrollments_inserted"], out["repeated"]) == (2, 1, False)
        assert (
            exchange.import_changes(s, actor=PROVINCE, content=first, data_dir=province_dir)["repeated"]
            is True
        )
        assert s.scalar(select(func.count()).select_from(Person)) == 2
        # the province knows b is insured in another province (from another registry's exchange)
        imports.import_file(
            s,
            actor=PROVINCE,
            kind="enrollments",
            system="外省",
            filename="x.csv",
            content=csv_bytes(
                ENR_HEADER, [enr_row(b, "310", place="110101"), enr_row(b, "110", place="110101")]
            ),
        )
        down, _ = exchange.export_elsewhere(
            s, actor=PROVINCE, origin="37", for_area="370102", data_dir=province_dir
        )

    with county.sessions() as s, s.begin():
        persons.store(
            s,
            actor=CLERK,
            case_id=5,
            case_area="370102",
            person_id=a,
            registration=registration(a, "郑一", phone="13700000001"),
        )
        result = exchange.import_elsewhere(s, actor=CLERK, content=down, data_dir=county_dir)
        assert (result["enrollments_inserted"], result["persons_marked"]) == (2, 1)
        assert (
            exchange.import_elsewhere(s, actor=CLERK, content=down, data_dir=county_dir)["repeated"] is True
        )
        assert s.get(Person, b).insured_elsewhere is True
        elsewhere = s.execute(
            select(Enrollment.scheme, Enrollment.place)
            .where(Enrollment.elsewhere.is_(True))
            .order_by(Enrollment.scheme)
        ).all()
        assert elsewhere == [("110", "110101"), ("310", "110101")]
        second, batch2 = exchange.export_changes(s, actor=CLERK, area="370102", data_dir=county_dir)
        assert batch2.origin_batch == 2

    with province.sessions() as s, s.begin():
        out = exchange.import_changes(s, actor=PROVINCE, content=second, data_dir=province_dir)
        assert out["persons_changed"] >= 1 and not out["repeated"]
        assert s.get(Person, a).phone == "13700000001"
        # the elsewhere facts did not travel back up as new relationships
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.person_id == b)) == 2
        assert (
            s.scalar(
                select(func.count()).select_from(ExchangeBatch).where(ExchangeBatch.direction == "import")
            )
            == 2
        )


def _rewrite(content: bytes, **changes) -> bytes:
    doc = json.loads(gzip.decompress(content))
    return gzip.compress(json.dumps({**doc, **changes}, ensure_ascii=False).encode(), mtime=0)


def test_unsigned_tampered_and_conflicting_files_are_refused(db, offices, tmp_path):
    county_dir, province_dir = offices
    a = pid(seq=3)
    with db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(a, "钱三")]),
        )
        signed, _ = exchange.export_changes(s, actor=CLERK, area="370102", data_dir=county_dir)
    stranger = tmp_path / "stranger"
    with db.sessions() as s:
        cases = {
            "tampered": _rewrite(signed, persons=[]),
            "unsigned": _rewrite(signed, signature=None),
            "untrusted": gzip.compress(
                json.dumps(
                    signing.signer(stranger).sign(
                        {k: v for k, v in json.loads(gzip.decompress(signed)).items() if k != "signature"}
                    ),
                    ensure_ascii=False,
                ).encode()
            ),
        }
        for name, content in cases.items():
            with pytest.raises(exchange.BadSignature) as refused:
                exchange.import_changes(s, actor=PROVINCE, content=content, data_dir=province_dir)
            assert refused.value.errors[0].pointer == "/signature", name
    with db.sessions() as s, s.begin():
        exchange.import_changes(s, actor=PROVINCE, content=signed, data_dir=province_dir)
    # the same batch number again with other content, signed by the county: someone must look at it
    doc = {k: v for k, v in json.loads(gzip.decompress(signed)).items() if k != "signature"}
    other = gzip.compress(
        json.dumps(signing.signer(county_dir).sign({**doc, "persons": []}), ensure_ascii=False).encode()
    )
    with db.sessions() as s, pytest.raises(exchange.BatchConflict):
        exchange.import_changes(s, actor=PROVINCE, content=other, data_dir=province_dir)
    guangdong = Actor(sub="p2", roles=("province_admin",), area="44")
    with db.sessions() as s, pytest.raises(AreaForbidden):  # another province's registry's file
        exchange.import_changes(s, actor=guangdong, content=signed, data_dir=province_dir)
