"""Domain errors: raised by actions, shown by views and the API with a message."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request. `message` is for the user (Chinese by default)."""

    status_code = 400

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotPermitted(DomainError):
    status_code = 403

    def __init__(self, message: str = "您无权执行此操作", *, code: str = "forbidden") -> None:
        super().__init__(message, code=code)


class InvalidTransition(DomainError):
    """The action is not allowed in the case's current state (HTTP 409)."""

    status_code = 409

    def __init__(self, message: str, *, code: str = "invalid_transition") -> None:
        super().__init__(message, code=code)


class Conflict(DomainError):
    """Someone else changed the record first (HTTP 409)."""

    status_code = 409

    def __init__(self, message: str = "该记录已被他人修改，请刷新后重试", *, code: str = "conflict") -> None:
        super().__init__(message, code=code)
