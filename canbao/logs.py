"""What `canbao worker` and `canbao serve` log: at INFO what an operator needs (a timer fired, a task was
created, a case ended, failures); SpiffWorkflow's step-by-step chatter ("State changed to READY", one
line per task state) only at DEBUG. CANBAO_LOG_LEVEL=DEBUG shows everything."""

from __future__ import annotations

import logging
import os
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# SpiffWorkflow's loggers (spiff.task, spiff.workflow, spiff.data, spiff.dmn) report every state change
# of every task at INFO.
CHATTY = ("spiff",)


def configure(level: str | None = None, *, stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr) at `level` (CANBAO_LOG_LEVEL, default INFO), the chatty loggers only
    when DEBUG is asked for. Replaces the handlers an earlier call installed."""
    name = (level or os.environ.get("CANBAO_LOG_LEVEL") or "INFO").upper()
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        value = logging.INFO
    logging.basicConfig(level=value, format=FORMAT, stream=stream, force=True)
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.DEBUG if value <= logging.DEBUG else logging.WARNING)


def dict_config(base: dict, level: str | None = None) -> dict:
    """`base` (uvicorn's LOGGING_CONFIG) with canbao's own loggers added the same way as `configure`:
    uvicorn applies it in every server process it starts."""
    name = (level or os.environ.get("CANBAO_LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(name), int):
        name = "INFO"
    config = {
        **base,
        "formatters": dict(base.get("formatters", {})),
        "handlers": dict(base.get("handlers", {})),
    }
    config["formatters"]["canbao"] = {"format": FORMAT}
    config["handlers"]["canbao"] = {
        "class": "logging.StreamHandler",
        "formatter": "canbao",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["canbao"], "level": name}
    chatty_level = "DEBUG" if name == "DEBUG" else "WARNING"
    config["loggers"] = {**base.get("loggers", {}), **{c: {"level": chatty_level} for c in CHATTY}}
    return config
