"""The roles of DESIGN §1, as an ordered scale.

Roles are Django groups; a superuser is an admin. Each role includes every
right of the roles below it, so a check is a comparison on this scale.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from core.errors import Forbidden, NotAuthenticated

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from core.types import Actor


class Role(enum.IntEnum):
    NONE = 0  # anonymous, or signed in without a role: sees only public material
    OPERATOR = 1
    MANAGER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def with_article(self) -> str:
        """ "an operator", "a manager", "an admin": for messages people read."""
        return f"{'an' if self.label[0] in 'aeiou' else 'a'} {self.label}"


GROUP_NAMES = {Role.OPERATOR: "operator", Role.MANAGER: "manager", Role.ADMIN: "admin"}
_BY_GROUP = {name: role for role, name in GROUP_NAMES.items()}


def role_of(user: Any) -> Role:
    """The highest role a user holds; cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role.NONE
    cached = getattr(user, "_floniks_role", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        role = Role.ADMIN
    else:
        names = user.groups.values_list("name", flat=True)
        role = max((_BY_GROUP[n] for n in names if n in _BY_GROUP), default=Role.NONE)
    user._floniks_role = role
    return role


def require_role(user: Actor | None, minimum: Role, *, action: str) -> User:
    """Raise unless the user holds at least `minimum`; the message names the action.

    Returns the user, typed as the user model: `actor = require_role(actor, …)` leaves a
    service with an actor it may store (every role needs a signed-in account)."""
    if role_of(user) >= minimum:
        return user  # type: ignore[return-value]  # a role implies an authenticated user
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated(f"Sign in to {action}.")
    raise Forbidden(f"Only {minimum.with_article} or above may {action}.")
