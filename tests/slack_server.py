"""A local Slack-compatible server: the Slack the test suite ships and starts.

`FakeSlack` is an in-memory Slack workspace (a team, its people, a bot) answering the few
Web API methods the product uses, at `/api/<method>`, as Slack answers them: HTTP 200 with
`{"ok": true, ...}` or `{"ok": false, "error": "..."}`. The official
`slack_sdk.WebClient(token=..., base_url=fake.api_url)` talks to it unchanged, whether it
sends a form or a JSON body (`blocks` may arrive as a JSON string in a form body). Methods:
`auth.test`, `users.lookupByEmail`, `conversations.open`, `chat.postMessage`, `chat.update`.

It also stands in for the rest of Slack around a message: `response_url`s
(`POST /actions/...`), the `block_actions` payload Slack posts when someone clicks a
button, signed exactly as Slack signs (`signed_request`), and a page at `GET /` showing
every message as Slack would (Block Kit rendered, for eyes and README screenshots).
`GET /_calls` lists the calls received as JSON, `POST /_reset` forgets everything.

Failures are injected with `fake.fail_next(...)`: rate limiting (HTTP 429, `Retry-After`),
an `ok: false` error, HTTP 500, or a connection closed without an answer.

In tests::

    with running_slack(users={"alice@example.com": "U0ALICE"}) as slack:
        settings.SLACK_API_URL = slack.api_url  # "http://127.0.0.1:PORT/api/"
        ...
        assert slack.calls_to("chat.postMessage")[0].args["blocks"][0]["type"] == "section"

By hand (then point SLACK_API_URL at the printed API URL and open the page)::

    python -m tests.slack_server --port 9311 --token xoxb-local \\
        --user alice@example.com=U0ALICE --user maria@example.com=U0MARIA

Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0LOOP"
DEFAULT_USERS = {"alice@example.com": "U0ALICE", "maria@example.com": "U0MARIA"}
DEFAULT_CHANNELS = {"C0REPORTS": "sales-reports"}  # public channel id -> name


@dataclass
class Call:
    """One Web API call as received: `args` merge query string and body, without the
    token; `blocks`/`attachments` sent as JSON strings are decoded to lists."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    status: int = 200  # the HTTP status answered (0: the connection was closed instead)
    error: str | None = None  # Slack's error code when the answer was not ok


@dataclass
class ResponseUrlPost:
    """One POST to a response_url: the message it was minted for, and what was sent."""

    url: str
    channel: str | None
    ts: str | None
    payload: dict[str, Any]
    at: float


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    disconnect: bool


class SlackError(Exception):
    """Raised by an API method to answer `{"ok": false, "error": error}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def signed_request(
    payload: dict[str, Any], signing_secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body (`payload=<urlencoded JSON>`) and headers of an interaction request,
    signed as Slack signs: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def _decoded(value: Any) -> Any:
    """`blocks` and `attachments` arrive as JSON strings in form bodies."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


class FakeSlack:
    """An in-memory Slack workspace. Thread-safe: the server answers from many threads."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("xoxb-test-token",),
        users: Mapping[str, str] | None = None,
        channels: Iterable[str] | Mapping[str, str] = DEFAULT_CHANNELS,
        team: str = "Acme Sales",
        team_id: str = "T0ACME",
        bot_name: str = "Learning Loop",
    ) -> None:
        self.tokens = set(tokens)
        self.users = {
            email.lower(): uid for email, uid in (DEFAULT_USERS if users is None else users).items()
        }
        names = channels if isinstance(channels, Mapping) else {c: c.lower() for c in channels}
        self.channels: dict[str, str] = dict(names)  # public channel id -> name
        self.team, self.team_id, self.bot_name = team, team_id, bot_name
        self.domain = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-")
        self.url = ""  # "http://127.0.0.1:PORT/" once served
        self.api_url = ""  # url + "api/": SLACK_API_URL
        self._lock = threading.RLock()
        self._hook_ids = itertools.count(1000000001)
        self._methods = {
            "auth.test": self._auth_test,
            "users.lookupByEmail": self._lookup_by_email,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
        }
        self.reset()

    def reset(self) -> None:
        """Forget every call, message, opened DM, response_url and pending failure."""
        with self._lock:
            self.calls: list[Call] = []
            self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
            self.responses: list[ResponseUrlPost] = []
            self.dms: dict[str, str] = {}  # opened DM channel id -> user id
            self._hooks: dict[str, tuple[str, str]] = {}
            self._failures: dict[str, deque[_Failure]] = {}
            self._last_ts = 0.0

    # -- what tests look at and arrange ---------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """The stored message (as chat.postMessage answered it, updates applied)."""
        with self._lock:
            return self._message_json(self.messages[(channel, ts)])

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        disconnect: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` ("*": any method) fail.

        Default: HTTP 429 with `Retry-After: <retry_after>` and error "ratelimited".
        `error="..."` alone: HTTP 200 with `{"ok": false, "error": error}`.
        `status=500` (or any other): that status with error "internal_error".
        `disconnect=True`: the connection is closed without an answer ("Slack is down");
        slack_sdk's default handler retries that once, so use `times=2` to fail a call.
        """
        if status is None:
            status = 200 if error else 429
        error = error or ("ratelimited" if status == 429 else "internal_error")
        failure = _Failure(status, error, retry_after if status == 429 else None, disconnect)
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    # -- the Web API ------------------------------------------------------------------------

    def handle_api(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        """Answer one call: (status, headers, body), or None to close the connection."""
        with self._lock:
            call = Call(method, args, token, time.time())
            self.calls.append(call)
            failure = self._take_failure(method)
            if failure is not None:
                call.status = 0 if failure.disconnect else failure.status
                call.error = failure.error
                if failure.disconnect:
                    return None
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                )
                return failure.status, headers, {"ok": False, "error": failure.error}
            handler = self._methods.get(method)
            try:
                if handler is None:
                    raise SlackError("unknown_method")
                if not token:
                    raise SlackError("not_authed")
                if token not in self.tokens:
                    raise SlackError("invalid_auth")
                body = {"ok": True, **handler(args)}
            except SlackError as exc:
                body = {"ok": False, "error": exc.error}
            call.error = body.get("error")
            return 200, {}, body

    def _take_failure(self, method: str) -> _Failure | None:
        for key in (method, "*"):
            queue = self._failures.get(key)
            if queue:
                return queue.popleft()
        return None

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team,
            "user": "learning_loop",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).strip().lower()
        if email not in self.users:
            raise SlackError("users_not_found")
        return {"user": self._user(email)}

    def _user(self, email: str) -> dict[str, Any]:
        name = email.split("@")[0]
        real_name = name.replace(".", " ").title()
        return {
            "id": self.users[email],
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "profile": {"email": email, "real_name": real_name, "display_name": name},
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("users", "")).strip()
        if not user_id:
            raise SlackError("users_list_not_supplied")
        if user_id not in self.users.values():  # one person: group DMs are not modelled
            raise SlackError("user_not_found")
        channel = self._dm_for(user_id)
        already_open = channel in self.dms
        self.dms[channel] = user_id
        return {"no_op": already_open, "already_open": already_open, "channel": {"id": channel}}

    @staticmethod
    def _dm_for(user_id: str) -> str:
        return "D" + user_id.removeprefix("U")

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel in self.users.values():  # a user id posts to the app's DM with them
            channel = self._dm_for(channel)
            self.dms[channel] = str(args["channel"])
        if channel not in self.channels and channel not in self.dms:
            raise SlackError("channel_not_found")
        text, blocks = args.get("text", ""), self._valid_blocks(args.get("blocks", []))
        if not text and not blocks:
            raise SlackError("no_text")
        ts = self._next_ts()
        message = {"channel": channel, "ts": ts, "text": text, "blocks": blocks}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": self._message_json(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackError("message_not_found")
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:  # omitted: kept, as Slack keeps them; [] removes them
            message["blocks"] = self._valid_blocks(args["blocks"])
        message["edited"] = self._next_ts()
        return {
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": self._message_json(message),
        }

    @staticmethod
    def _valid_blocks(blocks: Any) -> list[dict[str, Any]]:
        """Slack's checks, roughly; blocks without a block_id get one, as Slack gives."""
        if not isinstance(blocks, list) or len(blocks) > 50:
            raise SlackError("invalid_blocks")
        valid = []
        for index, block in enumerate(blocks):
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise SlackError("invalid_blocks")
            valid.append({**block, "block_id": block.get("block_id") or f"b{index:04d}"})
        return valid

    def _next_ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _message_json(self, message: dict[str, Any]) -> dict[str, Any]:
        shown = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "text": message["text"],
            "blocks": message["blocks"],
            "ts": message["ts"],
        }
        if "edited" in message:
            shown["edited"] = {"user": BOT_USER_ID, "ts": message["edited"]}
        return shown

    # -- interactivity: response_url and block_actions ----------------------------------

    def response_url_for(self, channel: str, ts: str) -> str:
        """Mint a response_url tied to a message, as Slack does for each interaction."""
        with self._lock:
            hook = f"{self.team_id}/{next(self._hook_ids)}/{secrets.token_urlsafe(18)}"
            self._hooks[hook] = (channel, ts)
            return f"{self.url}actions/{hook}"

    def handle_response_url(self, hook: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A POST to a response_url: replace, delete or (else) add an ephemeral reply."""
        with self._lock:
            channel, ts = self._hooks.get(hook, (None, None))
            post = ResponseUrlPost(f"{self.url}actions/{hook}", channel, ts, payload, time.time())
            self.responses.append(post)
            if channel is None or ts is None:
                return 404, {"ok": False, "error": "expired_url"}
            try:
                blocks = self._valid_blocks(_decoded(payload.get("blocks", [])))
            except SlackError as exc:
                return 400, {"ok": False, "error": exc.error}
            if payload.get("delete_original"):
                self.messages.pop((channel, ts), None)
            elif payload.get("replace_original"):
                if (channel, ts) not in self.messages:
                    return 404, {"ok": False, "error": "message_not_found"}
                self.messages[(channel, ts)].update(text=payload.get("text", ""), blocks=blocks)
            else:
                new_ts = self._next_ts()
                ephemeral = payload.get("response_type") != "in_channel"
                text = payload.get("text", "")
                reply = {"channel": channel, "ts": new_ts, "text": text, "blocks": blocks}
                self.messages[(channel, new_ts)] = {**reply, "ephemeral": ephemeral}
            return 200, {"ok": True}

    def block_actions_payload(
        self,
        *,
        user_id: str,
        channel: str,
        ts: str,
        action_id: str,
        value: str | None = None,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """The `block_actions` payload Slack posts when `user_id` clicks the button
        `action_id` of the stored message (`value`: the button's own unless given).
        Raises LookupError when there is no such message or button."""
        with self._lock:
            if (channel, ts) not in self.messages:
                raise LookupError(f"no message {ts} in {channel}")
            message = self._message_json(self.messages[(channel, ts)])
            found = _find_button(message["blocks"], action_id)
            if found is None:
                raise LookupError(f"no button {action_id!r} in message {ts}")
            block_id, button = found
            team = team_id or self.team_id
            emails = {uid: email for email, uid in self.users.items()}
            username = emails.get(user_id, user_id.lower()).split("@")[0]
            now = time.time()
            action = {
                "action_id": action_id,
                "block_id": block_id,
                "text": {
                    "type": "plain_text",
                    "text": button.get("text", {}).get("text", ""),
                    "emoji": True,
                },
                "value": button.get("value", "") if value is None else value,
                "type": "button",
                "action_ts": f"{now:.6f}",
            }
            if "style" in button:
                action["style"] = button["style"]
            return {
                "type": "block_actions",
                "user": {"id": user_id, "username": username, "name": username, "team_id": team},
                "api_app_id": APP_ID,
                "token": "legacyVerificationToken",
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": False,
                },
                "trigger_id": f"{int(now)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
                "team": {"id": team, "domain": self.domain},
                "enterprise": None,
                "is_enterprise_install": False,
                "channel": {"id": channel, "name": self.channels.get(channel, "directmessage")},
                "message": message,
                "state": {"values": {}},
                "response_url": self.response_url_for(channel, ts),
                "actions": [action],
            }

    signed_request = staticmethod(signed_request)  # also a module function


def _find_button(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
    for block in blocks:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        for element in elements:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block["block_id"], element
    return None


# -- the page: messages as Slack shows them ---------------------------------------------

_TOKEN = re.compile(r"```(.+?)```|`([^`\n]+)`|<([^<>\n]+)>", re.S)
_EMPHASIS = [
    (re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]+?)(?<=\S){m}(?![\w{m}])"), tag)
    for m, tag in ((r"\*", "b"), ("_", "i"), ("~", "s"))
]


def _unslack(text: str) -> str:
    """Slack's own escaping of text (&amp; &lt; &gt;) undone, before html.escape."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as HTML: every piece of text escaped, then formatted."""
    names = names or {}
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"\x00{len(kept) - 1}\x00"

    def token(match: re.Match[str]) -> str:
        block, code, control = match.groups()
        if block is not None:
            return keep(f"<pre>{html.escape(_unslack(block.strip(chr(10))))}</pre>")
        if code is not None:
            return keep(f"<code>{html.escape(_unslack(code))}</code>")
        target, _, label = control.partition("|")
        if target.startswith(("http://", "https://", "mailto:")):
            href, shown = html.escape(_unslack(target)), html.escape(_unslack(label or target))
            return keep(f'<a href="{href}">{shown}</a>')
        if target[:1] in "@#":
            name = label.lstrip("@#") or names.get(target[1:], target[1:])
            return keep(f'<span class="mention">{target[0]}{html.escape(_unslack(name))}</span>')
        if target.startswith("!"):
            special = label or "@" + target[1:].split("^")[0]
            return keep(f'<span class="mention">{html.escape(_unslack(special))}</span>')
        return match.group(0)  # not a control sequence: shown as typed, escaped below

    lines = []
    for line in _TOKEN.sub(token, text.replace("\x00", "")).split("\n"):
        quote = line.startswith((">", "&gt;"))
        line = re.sub(r"^(>|&gt;) ?", "", line) if quote else line
        out = html.escape(_unslack(line))
        for pattern, tag in _EMPHASIS:
            out = pattern.sub(rf"<{tag}>\1</{tag}>", out)
        lines.append(f'<div class="quote">{out}</div>' if quote else f"<div>{out or '<br>'}</div>")
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], "".join(lines))


def _text(obj: Any, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return html.escape(str(obj or ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names)
    return html.escape(str(obj.get("text", "")))


def _element(element: dict[str, Any], names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "button":
        style = element.get("style") if element.get("style") in ("primary", "danger") else ""
        label = _text(element.get("text"), names)
        if element.get("url"):
            return (
                f'<a class="btn {style}" href="{html.escape(element["url"])}">{label} &#8599;</a>'
            )
        return f'<span class="btn {style}">{label}</span>'
    if kind == "image":
        return f'<span class="img" title="{html.escape(str(element.get("alt_text", "")))}"></span>'
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{_text(element, names)}</span>"
    placeholder = _text(element.get("placeholder"), names) or html.escape(str(kind))
    return f'<span class="btn">{placeholder} &#9662;</span>'  # selects, overflow, pickers


def _block(block: dict[str, Any], names: Mapping[str, str]) -> str:
    kind = block.get("type")
    if kind == "section":
        text = _text(block["text"], names) if block.get("text") else ""
        fields = "".join(f"<div>{_text(f, names)}</div>" for f in block.get("fields", []))
        accessory = block.get("accessory")
        side = f'<div class="accessory">{_element(accessory, names)}</div>' if accessory else ""
        fields = f'<div class="fields">{fields}</div>' if fields else ""
        return f'<div class="block section"><div class="grow">{text}{fields}</div>{side}</div>'
    if kind == "context":
        parts = "".join(_element(e, names) for e in block.get("elements", []))
        return f'<div class="block context">{parts}</div>'
    if kind == "divider":
        return '<hr class="block">'
    if kind == "header":
        return f'<div class="block header">{_text(block.get("text"), names)}</div>'
    if kind == "actions":
        parts = "".join(_element(e, names) for e in block.get("elements", []))
        return f'<div class="block actions">{parts}</div>'
    if kind == "image":
        return f'<div class="block image">{html.escape(str(block.get("alt_text", "image")))}</div>'
    return f'<div class="block context">[{html.escape(str(kind))} block]</div>'


_CSS = """
body{margin:0;background:#fff;color:#1d1c1d;font:15px/1.46668 Lato,"Slack-Lato",-apple-system,
BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.top{background:#3f0e40;color:#fff;padding:10px 20px;font-weight:900;font-size:18px}
.top small{font-weight:400;opacity:.75;font-size:13px;margin-left:12px}
main{max-width:760px;padding:8px 0}.empty{padding:40px 20px;color:#616061}
.msg{padding:8px 20px 12px;border-bottom:1px solid #f0f0f0}.msg:hover{background:#f8f8f8}
.where{font-size:13px;font-weight:700;color:#616061;margin-bottom:6px}
.row{display:flex;gap:8px}.grow{flex:1;min-width:0}
.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;flex:none;
display:flex;align-items:center;justify-content:center;font-weight:900;font-size:14px}
.name{font-weight:900}.badge{font-size:10px;font-weight:700;color:#616061;
background:rgba(29,28,29,.13);border-radius:2px;padding:1px 3px;margin:0 4px}
.time,.edited,.note{font-size:12px;color:#616061}.note{margin-top:4px}
.block{margin:4px 0}.section{display:flex;gap:12px}.accessory{flex:none}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;margin-top:8px}
.context{font-size:12px;color:#616061;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.header{font-size:18px;font-weight:900;margin:8px 0 4px}
hr.block{border:0;border-top:1px solid #dddddd;margin:12px 0}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px}
.btn{display:inline-block;border:1px solid rgba(29,28,29,.3);border-radius:8px;padding:3px 12px;
font-size:13px;font-weight:700;color:#1d1c1d;background:#fff;text-decoration:none}
.btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}
.btn.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.img{display:inline-block;width:16px;height:16px;border-radius:3px;background:#ddd}
.image{background:#f4f4f4;border-radius:8px;padding:24px;color:#616061;font-size:13px}
a{color:#1264a3;text-decoration:none}.mention{color:#1264a3;background:#e8f5fa;padding:0 2px}
code{font:12px Monaco,Menlo,Consolas,monospace;color:#e01e5a;background:rgba(29,28,29,.04);
border:1px solid rgba(29,28,29,.13);border-radius:3px;padding:2px 3px 1px}
pre{font:12px/1.5 Monaco,Menlo,Consolas,monospace;background:rgba(29,28,29,.04);margin:4px 0;
border:1px solid rgba(29,28,29,.13);border-radius:4px;padding:8px;white-space:pre-wrap}
.quote{border-left:4px solid #dddddd;padding-left:16px}
"""


def render_page(fake: FakeSlack) -> str:
    """Every message posted, newest first, as Slack would show it."""
    with fake._lock:
        messages = sorted(fake.messages.values(), key=lambda m: float(m["ts"]), reverse=True)
        names = {uid: email.split("@")[0] for email, uid in fake.users.items()}
        emails = {uid: email for email, uid in fake.users.items()}
        dms = dict(fake.dms)
    initials = "".join(word[0] for word in fake.bot_name.split()[:2]).upper()
    items = []
    for message in messages:
        channel = message["channel"]
        if channel in dms:
            email = emails[dms[channel]]
            where = f"Direct message with {fake._user(email)['real_name']} ({email})"
        else:
            where = "#" + fake.channels.get(channel, channel)
        clock = time.strftime("%H:%M:%S", time.localtime(float(message["ts"])))
        blocks = message["blocks"]
        body = (
            "".join(_block(b, names) for b in blocks) if blocks else mrkdwn(message["text"], names)
        )
        edited = ' <span class="edited">(edited)</span>' if "edited" in message else ""
        note = '<div class="note">Only visible to you</div>' if message.get("ephemeral") else ""
        items.append(
            f'<div class="msg" id="m{html.escape(message["ts"])}">'
            f'<div class="where">{html.escape(where)}</div><div class="row">'
            f'<div class="avatar">{html.escape(initials)}</div><div class="grow">'
            f'<span class="name">{html.escape(fake.bot_name)}</span><span class="badge">APP</span>'
            f'<span class="time">{clock}</span>{edited}{body}{note}</div></div></div>'
        )
    content = "".join(items) or '<div class="empty">No messages yet.</div>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(fake.team)} - local Slack</title><style>{_CSS}</style></head>"
        f'<body><div class="top">{html.escape(fake.team)}<small>local Slack &middot; '
        f"{len(messages)} messages &middot; API {html.escape(fake.api_url)}</small></div>"
        f"<main>{content}</main></body></html>"
    )


# -- the HTTP server ---------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlack, address: tuple[str, int], verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.fake, self.verbose = fake, verbose


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _route(self) -> None:
        fake, url = self.server.fake, urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        post = self.command == "POST"
        if url.path.startswith("/api/"):
            args: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            args.update(self._body_args(body))
            for key in ("blocks", "attachments"):
                if key in args:
                    args[key] = _decoded(args[key])
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() or args.pop("token", None)
            args.pop("token", None)
            answer = fake.handle_api(url.path.removeprefix("/api/"), args, token)
            if answer is None:  # "Slack is down": the connection closes, nothing said
                self.close_connection = True
                return
            status, headers, payload = answer
            self._send(status, json.dumps(payload), "application/json; charset=utf-8", headers)
        elif url.path.startswith("/actions/") and post:
            try:
                hook_payload = json.loads(body or b"{}")
            except ValueError:
                hook_payload = None
            if not isinstance(hook_payload, dict):
                return self._json(400, {"ok": False, "error": "invalid_payload"})
            self._json(*fake.handle_response_url(url.path.removeprefix("/actions/"), hook_payload))
        elif url.path == "/" and not post:
            self._send(200, render_page(fake), "text/html; charset=utf-8")
        elif url.path == "/_calls" and not post:
            with fake._lock:
                self._json(200, [asdict(call) for call in fake.calls])
        elif url.path == "/_reset" and post:
            fake.reset()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"ok": False, "error": "not_found"})

    def _body_args(self, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if "json" in self.headers.get("Content-Type", ""):
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
                return parsed if isinstance(parsed, dict) else {}
            return {}
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload), "application/json; charset=utf-8")

    def _send(
        self, status: int, text: str, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def make_server(
    fake: FakeSlack, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
) -> _Server:
    """Bind a server for `fake` (port 0: a free one) and set `fake.url` and `fake.api_url`."""
    server = _Server(fake, (host, port), verbose)
    fake.url = f"http://{host}:{server.server_address[1]}/"
    fake.api_url = fake.url + "api/"
    return server


@contextlib.contextmanager
def running_slack(**kwargs: Any) -> Iterator[FakeSlack]:
    """A FakeSlack(**kwargs) served on 127.0.0.1 on a free port while the block runs."""
    fake = FakeSlack(**kwargs)
    server = make_server(fake)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.slack_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9311)
    parser.add_argument("--token", action="append", help="a valid bot token (repeatable)")
    parser.add_argument("--user", action="append", metavar="EMAIL=ID", help="a person (repeatable)")
    parser.add_argument("--channel", action="append", metavar="ID[=NAME]", help="a public channel")
    parser.add_argument("--team", default="Acme Sales")
    parser.add_argument("--team-id", default="T0ACME")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    options = parser.parse_args(argv)
    users = dict(pair.split("=", 1) for pair in options.user) if options.user else None
    channels = {}
    for spec in options.channel or ["C0REPORTS=sales-reports"]:
        channel_id, _, name = spec.partition("=")
        channels[channel_id] = name or channel_id.lower()
    fake = FakeSlack(
        tokens=options.token or ["xoxb-test-token"],
        users=users,
        channels=channels,
        team=options.team,
        team_id=options.team_id,
    )
    server = make_server(fake, options.host, options.port, verbose=not options.quiet)
    print(f"Slack API:  {fake.api_url}   (SLACK_API_URL={fake.api_url})")
    print(f"Messages:   {fake.url}")
    print(f"Tokens:     {', '.join(sorted(fake.tokens))}")
    print(f"People:     {', '.join(f'{e}={u}' for e, u in fake.users.items())}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
