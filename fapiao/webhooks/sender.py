"""One delivery attempt: a signed HTTPS POST (or a mail, for an email subscription), and its outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from fapiao import __version__
from fapiao.mail import Mail, Mailer, MailError
from fapiao.webhooks import policy, signing
from fapiao.webhooks.store import Due


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    response: str | None
    error: str | None


def request_headers(due: Due, now: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"FapiaoSentinel-Webhooks/{__version__}",
        signing.HEADER: signing.header_value(due.secret, now, due.payload.encode("utf-8")),
        "X-Fapiao-Event": due.event_type,
        "X-Fapiao-Delivery": due.event_id,
    }


async def post(client: httpx.AsyncClient, due: Due, now: int) -> Outcome:
    try:
        answer = await client.post(
            due.target,
            content=due.payload.encode("utf-8"),
            headers=request_headers(due, now),
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return Outcome(False, None, None, "timeout")
    except httpx.HTTPError as exc:
        return Outcome(False, None, None, f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(policy.succeeded(answer.status_code), answer.status_code, answer.text, None)


def notice_mail(to: str, event_type: str, payload: str) -> Mail:
    """The mail of an event (pure): what came back, in Chinese and English."""
    event = json.loads(payload)
    data = event["data"]
    if event_type == "alert":
        key, score = data["invoice_key"], data["score"]
        subject = f"风险预警 / risk alert: {key} ({data['severity']})"
        body = f"发票 {key} 触发风险预警：{'、'.join(data['reasons'])}（风险分 {score}）。\n\n"
        body += f"Invoice {key} raised a risk alert: {', '.join(data['reasons'])} (score {score}).\n"
    else:
        number = "-".join(p for p in (data.get("invoice_code"), data["invoice_number"]) if p)
        subject = f"查验结果 / check result: {data['message_zh']} · {number}"
        body = f"发票 {number} 的查验结果：{data['message_zh']}\n查验编号 {data['check_id']}\n\n"
        body += f"Result of the check of invoice {number}: {data['message_en']}\nCheck {data['check_id']}\n"
    return Mail(to=to, subject=subject, body=body)


async def mail(mailer: Mailer, due: Due) -> Outcome:
    if not mailer.enabled:
        return Outcome(False, None, None, "mail is not configured (FAPIAO_SMTP_HOST)")
    try:
        await mailer.send_async(notice_mail(due.target, due.event_type, due.payload))
    except MailError as exc:
        return Outcome(False, None, None, str(exc)[:300])
    return Outcome(True, None, "sent", None)


async def attempt(client: httpx.AsyncClient, mailer: Mailer, due: Due, now: int) -> Outcome:
    return await (post(client, due, now) if due.kind == "url" else mail(mailer, due))
