"""Every model module, imported so that `Base.metadata` holds the whole schema (for Alembic and tests)."""

from api.auth import models as auth_models
from archive import models as archive_models
from canbao.audit import models as audit_models
from canbao.crypto import installation as crypto_installation
from canbao.db import Base
from engine import change_models as engine_change_models
from engine import models as engine_models
from forms import models as forms_models
from registry import models as registry_models
from registry.stats import models as stats_models

MODEL_MODULES = (
    audit_models,
    crypto_installation,
    auth_models,
    registry_models,
    engine_models,
    engine_change_models,
    forms_models,
    stats_models,
    archive_models,
)

metadata = Base.metadata
