"""The channel backends in use, from settings.MESSAGING_CHANNELS:

    MESSAGING_CHANNELS = {
        "sms": {"BACKEND": "messaging.channels.twilio.TwilioChannel", "OPTIONS": {...}},
        "email": {"BACKEND": "messaging.channels.email.EmailChannel"},
        "wechat": {"BACKEND": "messaging.channels.wechat.WeChatChannel", "OPTIONS": {...}},
    }

A channel left out is not used (clients are reached on the others)."""

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from messaging.channels.base import ChannelBackend


@cache
def backend(channel: str) -> ChannelBackend | None:
    config = settings.MESSAGING_CHANNELS.get(channel)
    if not config:
        return None
    return import_string(config["BACKEND"])(channel, **config.get("OPTIONS", {}))


def configured() -> list[str]:
    """The channels in the order clients are reached on them (settings.MESSAGING_CHANNEL_ORDER)."""
    return [c for c in settings.MESSAGING_CHANNEL_ORDER if settings.MESSAGING_CHANNELS.get(c)]


def backend_for_provider(provider: str) -> ChannelBackend | None:
    """The configured backend whose provider name is `provider` (delivery receipt webhooks)."""
    for channel in settings.MESSAGING_CHANNELS:
        b = backend(channel)
        if b is not None and b.provider == provider:
            return b
    return None


@receiver(setting_changed)
def _reset(setting, **kwargs) -> None:
    if setting in ("MESSAGING_CHANNELS", "MESSAGING_CHANNEL_ORDER"):
        backend.cache_clear()
