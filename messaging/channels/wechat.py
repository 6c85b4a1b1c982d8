"""WeChat Official Account template messages (模板消息), by the documented API.

Options: APP_ID, APP_SECRET, TOKEN (the server-configuration token that signs the pushes to
our receipt URL), BASE_URL (tests point it at a local fake; default https://api.weixin.qq.com).

- access token: GET {BASE}/cgi-bin/token?grant_type=client_credential&appid=&secret=
  → {"access_token", "expires_in"}; cached (Django cache) until a minute before it expires, and
  fetched again when the API says it is invalid or expired (40001, 40014, 42001).
- send: POST {BASE}/cgi-bin/message/template/send?access_token=... with {"touser": openid,
  "template_id", "url", "data": {"first": …, "keyword1": …, …, "remark": …}} → {"errcode": 0,
  "msgid": …}. The template's text fills the keywords line by line: the first line is "first",
  the last "remark", those between keyword1, keyword2...
- receipts: WeChat pushes an XML event TEMPLATESENDJOBFINISH (MsgID, Status) to the server URL,
  signed by signature = sha1 of the sorted [TOKEN, timestamp, nonce]."""

import hashlib
import hmac
import xml.etree.ElementTree as ET

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from messaging.channels import http
from messaging.channels.base import (
    ChannelBackend,
    Outgoing,
    PermanentError,
    Receipt,
    TransientError,
    UnknownOutcome,
)

TOKEN_INVALID = {40001, 40014, 42001}
TRY_LATER = {-1, 45009, 45047}


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def template_data(body: str) -> dict:
    lines = [line.strip() for line in body.splitlines() if line.strip()] or [""]
    if len(lines) == 1:
        return {"first": {"value": lines[0]}}
    data = {"first": {"value": lines[0]}, "remark": {"value": lines[-1]}}
    for n, line in enumerate(lines[1:-1], start=1):
        data[f"keyword{n}"] = {"value": line}
    return data


class WeChatChannel(ChannelBackend):
    provider = "wechat"

    @property
    def _base(self) -> str:
        return self.options.get("BASE_URL", "https://api.weixin.qq.com").rstrip("/")

    def _cache_key(self) -> str:
        return f"messaging:wechat-token:{self.options.get('APP_ID', '')}"

    def access_token(self, *, refresh: bool = False) -> str:
        token = None if refresh else cache.get(self._cache_key())
        if token:
            return token
        response = http.call(
            "GET",
            f"{self._base}/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.options["APP_ID"],
                "secret": self.options["APP_SECRET"],
            },
        )
        data = response.json() if response.status_code < 400 else {}
        if not data.get("access_token"):
            # No message went out: fetching a token is safe to try again.
            raise TransientError(f"no access token: {data.get('errcode')} {data.get('errmsg', '')}")
        cache.set(self._cache_key(), data["access_token"], max(int(data.get("expires_in", 7200)) - 60, 60))
        return data["access_token"]

    def send(self, message: Outgoing) -> str:
        payload = {
            "touser": message.to,
            "template_id": message.template_id or self.options.get("DEFAULT_TEMPLATE_ID", ""),
            "url": message.link,
            "data": template_data(message.body),
        }
        for refresh in (False, True):
            response = http.call(
                "POST",
                f"{self._base}/cgi-bin/message/template/send",
                params={"access_token": self.access_token(refresh=refresh)},
                json=payload,
            )
            try:
                data = response.json()
            except ValueError as exc:
                raise UnknownOutcome(f"unreadable answer: {response.text[:200]}") from exc
            code = int(data.get("errcode", 0) or 0)
            if code == 0:
                return str(data.get("msgid", ""))
            if code in TOKEN_INVALID and not refresh:
                continue  # the token was refused before anything was sent: fetch a new one
            if code in TRY_LATER:
                raise TransientError(f"WeChat {code}: {data.get('errmsg', '')}")
            raise PermanentError(f"WeChat {code}: {data.get('errmsg', '')}")
        raise TransientError("WeChat refused a fresh access token")

    def receipts(self, request: HttpRequest) -> list[Receipt]:
        expected = wechat_signature(
            self.options.get("TOKEN", ""), request.GET.get("timestamp", ""), request.GET.get("nonce", "")
        )
        if not self.options.get("TOKEN") or not hmac.compare_digest(
            request.GET.get("signature", ""), expected
        ):
            raise PermissionDenied("bad signature")
        try:
            root = ET.fromstring(request.body)
        except ET.ParseError:
            return []
        if (root.findtext("Event") or "") != "TEMPLATESENDJOBFINISH":
            return []
        status = root.findtext("Status") or ""
        msg_id = root.findtext("MsgID") or root.findtext("MsgId") or ""
        if not msg_id:
            return []
        return [Receipt(msg_id, status == "success", "" if status == "success" else status[:200])]
