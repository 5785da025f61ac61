"""The served application: the API with the service-task operations wired in, and the web office."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api import app as api_app
from canbao.config import Settings
from web import pages

from .casework import open_survey_cases, survey_ledger
from .wiring import wire


def create_app(settings: Settings | None = None, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    wire()
    app = api_app.create_app(
        settings, sessions, open_survey_cases=open_survey_cases, survey_ledger=survey_ledger
    )
    pages.install(app)  # the web office: pages under /, static files under /static
    return app
