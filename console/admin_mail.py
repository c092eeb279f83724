"""The admin pages' Outbox of a site: every mail the server queued (alerts, transcripts,
replies, test mails) with its status, tries and last error, and each mail's text and HTML
bodies. With no SMTP server configured this is where the mail "goes" (the local outbox);
with one, it shows what is waiting, being retried or failed.

The HTML body of a mail is only ever shown inside a sandboxed frame (``sandbox`` without
``allow-scripts`` or ``allow-same-origin``, from ``srcdoc``): whatever a mail holds cannot
run script in, or style, the admin page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chatserver.mail.queue import Mail, queue_mail
from chatserver.protocol import valid_email
from chatserver.sessions import VIEW_ROLES
from console.admin_common import back, form_fields, not_found, now_ms, page_context, site_or_404
from console.admin_forms import Problem
from console.common import CHANGE_ROLES, page, render, services_of

SHOWN = 200  # newest mails the page lists (the store keeps the newest 1000)


def _url(site_id: str) -> str:
    return f"/admin/sites/{site_id}/outbox"


async def _outbox_page(
    request: Request, me: dict[str, str], site_id: str, status: int = 200, **extra: object
) -> Response:
    services = services_of(request)
    settings = services.settings
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        mails=await services.store.mail_log(site_id, SHOWN),
        counts=await services.store.mail_counts(site_id, now_ms(request)),
        smtp=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_tls=settings.smtp_tls,
        sender=settings.mail_from,
        give_up_h=round(settings.mail_give_up_s / 3600, 1),
        **extra,
    )
    return render(request, "admin_outbox.html", ctx, status)


@page(VIEW_ROLES)
async def outbox_home(request: Request, me: dict[str, str]) -> Response:
    """The nav's Outbox link: the outbox of the default site."""
    return RedirectResponse(_url(services_of(request).settings.default_site), status_code=303)


@page(VIEW_ROLES)
async def outbox(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    return await _outbox_page(request, me, found[0])


@page(VIEW_ROLES)
async def outbox_mail(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id = found[0]
    mail = await services_of(request).store.mail(site_id, request.path_params["mail_id"])
    if mail is None:
        return not_found(request, me, "admin.no_such_mail")
    return render(
        request, "admin_outbox_mail.html", page_context(request, me, site_id=site_id, mail=mail)
    )


@page(CHANGE_ROLES)
async def outbox_test(request: Request, me: dict[str, str]) -> Response:
    """Queue a test mail to an address the admin names: it goes out like any other."""
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id = found[0]
    to = form_fields(await request.form()).get("to", "").strip()
    if not to or not valid_email(to):
        return await _outbox_page(request, me, site_id, 400, errors=[Problem("admin.err_test_to")])
    services = services_of(request)
    # The test mail itself is in English: it goes to a mailbox, not to a console page.
    text = (
        f"This is a test mail from the chat server's site {site_id}, sent by {me.get('name')}.\n"
        "If you read this, the server's mail settings work.\n"
    )
    await queue_mail(
        services.store,
        services.settings,
        site_id,
        Mail(to=to, subject=f"Test mail from the chat ({site_id})", text=text, kind="test"),
        now_ms(request),
    )
    request.app.state.mail.wake()
    return back(_url(site_id), "mail")


routes = [
    Route("/admin/outbox", outbox_home, methods=["GET"]),
    Route("/admin/sites/{site}/outbox", outbox, methods=["GET"]),
    Route("/admin/sites/{site}/outbox/test", outbox_test, methods=["POST"]),
    Route("/admin/sites/{site}/outbox/{mail_id}", outbox_mail, methods=["GET"]),
]
