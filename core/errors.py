"""Domain errors raised by services and mapped to HTTP by the API and the UI.

Services never return HTTP responses; they raise one of these, and each
interface turns it into its own answer (JSON for the API, a message for a page).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    code: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.problems = problems or [Problem(self.code, "", message)]

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "errors": [p.as_dict() for p in self.problems]}


class ValidationFailed(DomainError):
    """Input refused; every problem is listed."""

    status = 400
    code = "invalid"

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        summary = message or "; ".join(f"{p.path or '(root)'}: {p.message}" for p in problems[:3])
        super().__init__(summary, code=problems[0].code if problems else "invalid", problems=problems)


class Conflict(DomainError):
    """The request is well formed but the current state does not allow it."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class QuotaExceeded(DomainError):
    """The caller already uses their share (e.g. of active runs): try again when some finish."""

    status = 429
    code = "quota_exceeded"


class Unavailable(DomainError):
    """Something outside Floniks that the request needs (a provider's server) did not answer."""

    status = 502
    code = "provider_unreachable"
