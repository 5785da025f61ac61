"""Statistics and reports (第二十七–三十一条): indicators per administrative division as of any day,
the person-detail lists behind them, and XLSX/CSV reports.

- `rules`: the versioned rule set (统计口径) every figure names;
- `models`: per-person day spans of the statistical profile, their per-day deltas per division, the
  queue of persons changed since the last refresh (filled by database triggers, migration 0003);
- `build`: the set-based SQL that turns registry history into spans and deltas (full or incremental);
- `queries`: coverage tables, unenrolled reasons, survey-team progress, drill-down lists;
- `reports`: the same tables as XLSX and CSV files.
"""
