"""Every model module, imported so that `Base.metadata` holds the whole schema (for Alembic and tests)."""

from canbao.audit import models as audit_models
from canbao.db import Base

MODEL_MODULES = (audit_models,)

metadata = Base.metadata
