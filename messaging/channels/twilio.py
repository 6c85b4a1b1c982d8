"""Twilio Programmable Messaging, by its documented REST API (no SDK needed).

Options: ACCOUNT_SID, AUTH_TOKEN, FROM (a sender number) or MESSAGING_SERVICE_SID,
STATUS_CALLBACK (the public URL of /messaging/receipts/twilio/), BASE_URL (tests point it at a
local fake; default https://api.twilio.com).

    POST {BASE_URL}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json (HTTP basic auth)
    To, From | MessagingServiceSid, Body, StatusCallback  →  201 {"sid": "SM..."}

Status callbacks (form posts with MessageSid, MessageStatus, ErrorCode) are signed:
X-Twilio-Signature = base64(HMAC-SHA1(AUTH_TOKEN, full URL + each POST key and value, keys
sorted)). https://www.twilio.com/docs/usage/security#validating-requests"""

import base64
import hashlib
import hmac

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from messaging.channels import http
from messaging.channels.base import ChannelBackend, Outgoing, PermanentError, Receipt, UnknownOutcome

DELIVERED = {"delivered", "read"}
FAILED = {"failed", "undelivered"}


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class TwilioChannel(ChannelBackend):
    provider = "twilio"

    def send(self, message: Outgoing) -> str:
        base = self.options.get("BASE_URL", "https://api.twilio.com").rstrip("/")
        sid = self.options["ACCOUNT_SID"]
        form = {"To": message.to, "Body": message.body}
        if self.options.get("MESSAGING_SERVICE_SID"):
            form["MessagingServiceSid"] = self.options["MESSAGING_SERVICE_SID"]
        else:
            form["From"] = self.options["FROM"]
        if self.options.get("STATUS_CALLBACK"):
            form["StatusCallback"] = self.options["STATUS_CALLBACK"]
        response = http.call(
            "POST",
            f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
            data=form,
            auth=(sid, self.options["AUTH_TOKEN"]),
        )
        if response.status_code >= 400:
            try:
                error = response.json()
                raise PermanentError(f"Twilio {error.get('code')}: {error.get('message', '')[:150]}")
            except ValueError:
                raise http.refuse(response) from None
        try:
            return response.json()["sid"]
        except (ValueError, KeyError) as exc:
            raise UnknownOutcome(f"unreadable answer: {response.text[:200]}") from exc

    def receipts(self, request: HttpRequest) -> list[Receipt]:
        url = self.options.get("STATUS_CALLBACK") or request.build_absolute_uri()
        params = {k: request.POST[k] for k in request.POST}
        expected = twilio_signature(self.options["AUTH_TOKEN"], url, params)
        if not hmac.compare_digest(request.headers.get("X-Twilio-Signature", ""), expected):
            raise PermissionDenied("bad signature")
        status = params.get("MessageStatus", "")
        if status not in DELIVERED | FAILED or not params.get("MessageSid"):
            return []  # queued, sent, sending...: not final
        error = f"Twilio error {params['ErrorCode']}" if params.get("ErrorCode") else ""
        return [Receipt(params["MessageSid"], status in DELIVERED, error if status in FAILED else "")]
