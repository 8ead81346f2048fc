"""API tokens: issued with an expiry, revoked by their owner, by an admin, and by any password change.

DRF's Token model holds one token per user; its `created` time plus
settings.FLONIKS_TOKEN_TTL_DAYS is when it stops working. Every state change goes
through the functions below; the token view, the admin and the password signal call them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.errors import Forbidden
from core.roles import Role, role_of

# --- reads ------------------------------------------------------------------------


def token_expires_at(token: Token) -> datetime.datetime:
    return token.created + datetime.timedelta(days=settings.FLONIKS_TOKEN_TTL_DAYS)


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


# --- state changes ----------------------------------------------------------------------


def issue_token(*, user: User) -> Token:
    """The user's token, made anew when there is none or it has expired."""
    token, _ = Token.objects.get_or_create(user=user)  # get_or_create survives two first requests at once
    if token_expired(token):
        Token.objects.filter(key=token.key).delete()
        token, _ = Token.objects.get_or_create(user=user)
    return token


def revoke_token(*, actor: User, token: Token) -> None:
    """Its owner or an admin ends a token; it answers 401 from then on."""
    if actor.pk != token.user_id and role_of(actor) < Role.ADMIN:
        raise Forbidden("Only its owner or an admin may revoke an API token.")
    Token.objects.filter(key=token.key).delete()


def revoke_tokens(*, actor: User, tokens: Iterable[Token]) -> int:
    revoked = 0
    for token in tokens:
        revoke_token(actor=actor, token=token)
        revoked += 1
    return revoked


def revoke_tokens_of(*, user: User) -> int:
    """Called when the password changes: whoever knew the old one may hold a token made with it."""
    deleted, _ = Token.objects.filter(user_id=user.pk).delete()
    return deleted


# --- the password rule, whatever path changes it ----------------------------------------------


def _note_password_change(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Compare the hash about to be saved with the stored one: set_password() then save(), the password
    change page, the admin's password form and a raw hash assigned by a script all end here."""
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and "password" not in update_fields:
        return
    rehash = getattr(instance, "_password", None) is None and set(update_fields or ()) == {"password"}
    if rehash:
        # Django's own hash upgrade at sign-in (check_password's setter clears _password and saves only the
        # hash): the same password in a stronger hash is no change, and must not sign the user's scripts out.
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._floniks_password_changed = stored is not None and stored != instance.password


def _revoke_after_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "_floniks_password_changed", False):
        instance._floniks_password_changed = False
        revoke_tokens_of(user=instance)


def connect_signals() -> None:
    user_model = get_user_model()
    pre_save.connect(_note_password_change, sender=user_model, dispatch_uid="floniks-password-change")
    post_save.connect(_revoke_after_password_change, sender=user_model, dispatch_uid="floniks-password-revoke")


# --- authentication ------------------------------------------------------------------------


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens past their expiry (401)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(
                "This API token has expired; ask for a new one at POST /api/auth/token/."
            )
        return user, token
