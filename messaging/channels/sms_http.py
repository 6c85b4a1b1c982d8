"""A generic JSON-over-HTTP SMS provider, the shape most Chinese SMS gateways and in-house
relays take. Options: URL, TOKEN, SENDER (optional), WEBHOOK_SECRET.

    POST URL   Authorization: Bearer TOKEN   Idempotency-Key: <the outbox key>
    {"to": "+8613800138000", "text": "...", "sender": "...", "reference": "<key>"}
    → 2xx {"id": "<provider message id>"}; 4xx refused; 429/503 try later.

Delivery receipts: POST /messaging/receipts/sms_http/ with a JSON body
{"id": "<provider message id>", "status": "delivered" | "failed", "error": "..."} (or a list of
them) and the header X-Signature: hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET."""

import hashlib
import hmac
import json

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from messaging.channels import http
from messaging.channels.base import ChannelBackend, Outgoing, Receipt, UnknownOutcome


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpSmsChannel(ChannelBackend):
    provider = "sms_http"

    def send(self, message: Outgoing) -> str:
        response = http.call(
            "POST",
            self.options["URL"],
            json={
                "to": message.to,
                "text": message.body,
                "sender": self.options.get("SENDER", ""),
                "reference": message.key,
            },
            headers={
                "Authorization": f"Bearer {self.options.get('TOKEN', '')}",
                "Idempotency-Key": message.key,
            },
        )
        if response.status_code >= 400:
            raise http.refuse(response)
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UnknownOutcome(f"unreadable answer: {response.text[:200]}") from exc

    def receipts(self, request: HttpRequest) -> list[Receipt]:
        secret = self.options.get("WEBHOOK_SECRET", "")
        given = request.headers.get("X-Signature", "")
        if not secret or not hmac.compare_digest(given, signature(secret, request.body)):
            raise PermissionDenied("bad signature")
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):  # not JSON, or nested past Python's limit
            return []
        items = data if isinstance(data, list) else [data]
        return [
            Receipt(str(i.get("id", "")), i.get("status") == "delivered", str(i.get("error", ""))[:200])
            for i in items
            if isinstance(i, dict) and i.get("id") and i.get("status") in ("delivered", "failed")
        ]
