"""What a channel backend is: a small class with `address`, `send` and `receipts`.

`send` answers the provider's message id, or raises one of three errors, and the dispatcher's
promise (at most once per idempotency key) rests on raising the right one:

- TransientError: the provider certainly did not take the message (could not connect, 429,
  503): safe to try again later;
- PermanentError: the provider refused it (bad number, blocked user): never retried;
- UnknownOutcome: the request may have reached the provider (a read timeout, a 500, the
  connection dropped after sending): the message becomes "unknown" for a person to check
  with the provider, never re-sent blindly.

docs/messaging.md says how to add a channel."""

from dataclasses import dataclass

from django.http import HttpRequest


class SendError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientError(SendError):
    """Not sent; try again later."""


class PermanentError(SendError):
    """Refused by the provider; do not retry."""


class UnknownOutcome(SendError):
    """Maybe sent: a person must check, the dispatcher never re-sends it."""


@dataclass(frozen=True)
class Outgoing:
    key: str  # the outbox row's idempotency key (providers that support it dedupe on it)
    to: str
    subject: str
    body: str
    kind: str
    language: str
    link: str = ""  # the message's main link (WeChat template messages open it)
    template_id: str = ""  # WeChat: the Official Account's template id


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    delivered: bool
    error: str = ""


class ChannelBackend:
    """Subclasses set `provider` and implement send; `address` and `receipts` as needed."""

    provider = ""

    def __init__(self, channel: str, **options):
        self.channel = channel
        self.options = options

    def address(self, customer) -> str:
        """Where this channel reaches `customer` ('' if it cannot)."""
        if self.channel == "sms":
            return str(customer.phone) if customer.phone else ""
        if self.channel == "email":
            return customer.email or ""
        if self.channel == "wechat":
            return customer.wechat_openid or ""
        return ""

    def send(self, message: Outgoing) -> str:
        raise NotImplementedError

    def receipts(self, request: HttpRequest) -> list[Receipt]:
        """Delivery receipts in a provider's webhook call; raise PermissionDenied when the
        signature does not check out. Channels without receipts answer []."""
        return []
