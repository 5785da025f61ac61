"""The office's calendar. Times are stored in UTC; the business day (a form's 采集日期, an ID holder's
age, a report's 制表日期) is the day in Asia/Shanghai (UTC+8, no daylight saving), whatever zone the
server runs in, so that a form the browser dates today is today for the checks too."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def today() -> date:
    return datetime.now(CHINA).date()
