"""Who acts: the roles of design §2 and the actor every service call carries (never taken from bodies)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The names are the 规程's: 省级人力资源社会保障部门 and 人力资源社会保障部 (第五条); the self-service user
# is 单位或个人 (第二十三条), who need not be insured yet.
ROLES: dict[str, str] = {
    "surveyor": "调查员",
    "platform_reviewer": "基层平台",
    "counter_clerk": "窗口经办",
    "county_approver": "县级经办机构",
    "city_admin": "市级经办机构",
    "city_hrss": "市级人社部门",
    "province_admin": "省级人力资源社会保障部门",
    "ministry": "人力资源社会保障部",
    "process_manager": "流程管理员",
    "auditor": "审计员",
    "citizen": "单位或个人",
}
# Names these roles had before; process versions already deployed name their lanes with them.
FORMER_NAMES: dict[str, str] = {
    "省级经办机构": "province_admin",
    "部级经办机构": "ministry",
    "参保人": "citizen",
}
# A role named in a process (lane, candidate group) by its code ("surveyor") or its Chinese name ("调查员").
ROLE_BY_NAME: dict[str, str] = (
    {code: code for code in ROLES} | FORMER_NAMES | {title: code for code, title in ROLES.items()}
)


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

    @property
    def is_staff(self) -> bool:
        """Holds a role other than 参保人: reaches by area."""
        return any(r != "citizen" for r in self.roles)

    def reaches(self, area: str | None) -> bool:
        """Staff reach a resource whose area code starts with their area. A citizen reaches nothing by
        area (a citizen's token carries no area): only their own person, see `may_see`."""
        return area is not None and self.is_staff and area.startswith(self.area)

    def may_see(self, *, area: str | None, person_id: str | None) -> bool:
        """The one rule for whether an actor may see a case, task, document or person (design §2):
        staff within their area, a citizen only their own person's. Which operations a role may use at
        all is the API's policy; which lanes' tasks a staff member sees, the inbox's."""
        own = person_id is not None and person_id == self.sub and self.has_role("citizen")
        return own or self.reaches(area)


SYSTEM = Actor(sub="system", roles=("system",), area="", name="系统")
