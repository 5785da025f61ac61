"""The 全民参保登记库: persons, enrollments, flags, imports, comparison, survey planning, exchange.

What other packages call (all keyword-only, the caller owns the transaction):

- engine (via composition/wiring.py): `registry.operations.store` and `apply_change`, each
  `fn(ctx: OperationContext) -> dict`; `persons.guard_case_person` (whose record a case may take);
  `corrections.correct_id_number`; and, to open `survey_registration` cases in bulk,
  `registry.survey.candidates(session, area=, has_open_case=)`.
- api: `persons.read / missing / history`, `imports.import_file` (+ `get`, `get_all`),
  `comparison.run` (registry) / `comparison.run_files` (extract files), `comparison.get_or_raise`,
  `summary`, `counts_by_division`, `changes`; `survey.list_counts / list_persons / add_found_person`,
  `survey.create_team / get / get_all / update_members / delete`; `documents.registration_pdf /
  village_pdf / summary_xlsx`; `exchange.export_changes / import_changes / export_elsewhere /
  import_elsewhere`.
- `canbao demo` and bench.comparison: `demo.generate(dir, persons=)`,
  `demo.load(session, actor=, generated=)`.
"""
