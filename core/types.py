"""Type aliases shared by both apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Who asks for a change: whatever the request carries. Services check the role first
# (`core.roles.require_role`), which refuses the anonymous and narrows the type to the user model.
Actor: TypeAlias = "User | AnonymousUser"
