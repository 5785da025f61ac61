"""The business day is Shanghai's, whatever zone the server's clock is set to: a form dated today in
the browser (which dates in Asia/Shanghai) is not refused as future-dated, and tomorrow still is."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

import forms
from canbao import clock
from forms import checks, idnumber

from .helpers import at, reg


@pytest.fixture
def server_far_west(monkeypatch):
    """The process's local zone at UTC-16 (a POSIX zone string), exactly a day behind Shanghai, so
    the local date is never Shanghai's; the date caches are emptied so the checks read the clock again."""
    monkeypatch.setenv("TZ", "CBT+16")
    time.tzset()
    monkeypatch.setattr(checks, "_today_cache", (0.0, ""))
    monkeypatch.setattr(idnumber, "_today_cache", (0.0, idnumber._today_cache[1]))
    yield
    monkeypatch.undo()
    time.tzset()


def shanghai_today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


def test_today_is_the_day_in_shanghai(server_far_west):
    assert date.today().isoformat() != shanghai_today()  # the fixture's premise
    assert clock.today().isoformat() == shanghai_today()


def test_a_survey_dated_today_in_shanghai_is_accepted(server_far_west):
    day = shanghai_today()
    assert forms.validate("registration", at(reg(), "/survey/date", day)) == []
    tomorrow = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    refused = forms.validate("registration", at(reg(), "/survey/date", tomorrow))
    assert [(e.pointer, e.code) for e in refused] == [("/survey/date", "date.future")]
