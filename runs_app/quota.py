"""Per-user quota on active runs (issue 11): one operator cannot fill every worker."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from core.errors import QuotaExceeded
from runs_app.models import Run


def active_run_limit() -> int:
    return int(settings.FLONIKS_MAX_ACTIVE_RUNS_PER_USER)


def reserve_run_slot(actor: User) -> None:
    """Refuse (429 `quota_exceeded`) a new run when the actor already has the limit queued or running.

    Call inside the transaction that creates the run: the lock on the actor's row makes
    concurrent starts by one user count one after another, so a burst cannot slip past."""
    limit = active_run_limit()
    # NO KEY UPDATE: concurrent starts by this user queue here, while rows that merely reference the user
    # (a check's created_by, taking FOR KEY SHARE) are not blocked, which would deadlock with other locks.
    list(get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.pk).values_list("pk", flat=True))
    active = Run.objects.generating().filter(created_by_id=actor.pk).count()
    if active >= limit:
        raise QuotaExceeded(
            f"You already have {active} runs queued or running, and each person may have at most {limit} at once. "
            "Wait for one to finish, or cancel one, then start this run again."
        )
