"""The error tree, named for what the caller should do next.

- ``ConfigError``: refuse to start; the CLI maps it to exit code 2 with the YAML path of the problem.
- ``TransientVenueError`` / ``RateLimited``: back off and retry.
- ``OrderRejected`` (``PostOnlyWouldCross``, ``InsufficientFunds``): never retry unchanged.
- ``UnknownOrder``: the venue does not know the order; reconcile, do not resend blindly.
- ``VerificationFailed``: a quote invariant does not hold for the configured ranges; refuse to start.
- ``KillSwitch``: a risk limit fired; everything was cancelled and the run stops non-zero.
"""

from __future__ import annotations

# The process's exit codes, the same for every command (a supervisor restarts on 1 only).
EXIT_OK = 0
EXIT_ERROR = 1  # a crash, or a failed check
EXIT_CONFIG = 2  # a config or usage error: fix it before starting again
EXIT_KILL_SWITCH = 3  # a risk limit fired: a person looks before it trades again
EXIT_INTERRUPTED = 130  # a signal before trading began


class MmBotError(Exception):
    """Base of every error mm-bot raises on purpose."""


class ConfigError(MmBotError):
    """The configuration is invalid. ``problems`` holds ``(yaml_path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        lines = [f"{path}: {msg}" for path, msg in problems]
        super().__init__(f"invalid {source}:\n  " + "\n  ".join(lines))


class VenueError(MmBotError):
    """Something went wrong talking to a venue."""


class TransientVenueError(VenueError):
    """Network hiccup, timeout or 5xx: back off and retry (never resend an order blindly)."""


class RateLimited(TransientVenueError):
    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class VenueMismatch(VenueError):
    """The venue's market does not match the configured instrument (tick, lot, symbol)."""


class CredentialsRefused(VenueError):
    """The venue refused our credentials (API key, signature, token)."""


class OrderRejected(VenueError):
    """The venue refused the order; do not retry it unchanged. ``reason`` is machine-readable."""

    reason = "rejected"

    def __init__(self, message: str = "", reason: str | None = None) -> None:
        super().__init__(message or self.reason)
        if reason is not None:
            self.reason = reason


class PostOnlyWouldCross(OrderRejected):
    reason = "post_only_would_cross"


class InsufficientFunds(OrderRejected):
    reason = "insufficient_funds"


class UnknownOrder(VenueError):
    """The venue does not know this order id."""


class VerificationFailed(MmBotError):
    """A quote invariant failed to verify for the configured parameter ranges."""


class KillSwitch(MmBotError):
    """A risk limit fired; the run cancels everything and exits non-zero with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
