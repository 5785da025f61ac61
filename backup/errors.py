"""What the backup commands refuse, with every reason named."""

from __future__ import annotations

from canbao.errors import CanbaoError, Conflict


class BackupKeyProblem(CanbaoError):
    code = "backup.key"
    title = "备份密钥有误"


class BackupRefused(Conflict):
    """A backup that fails its checks, or a restore target that is not empty: nothing was written."""

    code = "backup.refused"
    title = "备份未通过核验，拒绝恢复"

    def __init__(self, problems: list[str], detail: str | None = None) -> None:
        self.problems = problems
        super().__init__(detail or "；".join(problems), problems=problems)
