"""asyncio helpers every layer but the core may use; imports no other part of the project."""

from gateway.aio.cancel import cancel_and_wait, raise_if_cancelled

__all__ = ["cancel_and_wait", "raise_if_cancelled"]
