"""Who acts: the roles of design §2 and the actor every service call carries (never taken from bodies)."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES: dict[str, str] = {
    "surveyor": "调查员",
    "platform_reviewer": "基层平台",
    "county_approver": "县级经办机构",
    "city_admin": "市级经办机构",
    "province_admin": "省级经办机构",
    "ministry": "部级经办机构",
    "process_manager": "流程管理员",
    "auditor": "审计员",
    "citizen": "参保人",
}
# A role named in a process (lane, candidate group) by its code ("surveyor") or its Chinese name ("调查员").
ROLE_BY_NAME: dict[str, str] = {code: code for code in ROLES} | {title: code for code, title in ROLES.items()}


@dataclass(frozen=True)
class Actor:
    sub: str
    roles: tuple[str, ...]
    area: str
    name: str = ""
    client_addr: str | None = None
    teams: tuple[int, ...] = field(default=())

    @property
    def role(self) -> str:
        """The role recorded with the actor's actions (the first one; users normally hold one)."""
        return self.roles[0] if self.roles else ""

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def reaches(self, area: str | None) -> bool:
        """An actor reaches a resource whose area code starts with the actor's area."""
        return area is not None and area.startswith(self.area)


SYSTEM = Actor(sub="system", roles=("system",), area="", name="系统")
