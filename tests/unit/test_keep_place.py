"""Keep my place (core/keep_place.py): when the agent-ready mail is due, and what it links
to."""

from __future__ import annotations

from chatserver.core.keep_place import KEPT_FIELD, ready_mail_once
from chatserver.mail import render

KEEP, GRACE = 600_000, 120_000
LEFT = 1_000_000


def conv(**fields: str) -> dict[str, str]:
    return {"status": "assigned", KEPT_FIELD: str(LEFT), "assigned_at": str(LEFT + 5_000), **fields}


def test_due_once_per_absence() -> None:
    assert ready_mail_once(conv(), "a@b.test", False, KEEP, GRACE) == f"mail_ready_{LEFT}"
    later = conv(**{KEPT_FIELD: str(LEFT + 900_000), "assigned_at": str(LEFT + 901_000)})
    assert ready_mail_once(later, "a@b.test", False, KEEP, GRACE) == f"mail_ready_{LEFT + 900_000}"


def test_not_due() -> None:
    def due(
        c: dict[str, str], email: str = "a@b.test", here: bool = False, keep: int = KEEP
    ) -> str:
        return ready_mail_once(c, email, here, keep, GRACE)

    assert due(conv(), email="") == ""  # nowhere to tell them
    assert due(conv(), here=True) == ""  # a tab is open: it got `assigned`
    assert due(conv(), keep=0) == ""  # the site keeps no places
    assert due(conv(status="queued")) == ""  # passed on before the step ran
    assert due(conv(status="missed")) == ""
    assert due(conv(first_agent_reply_at=str(LEFT + 6_000))) == ""  # the answer is mailed
    assert due(conv(**{KEPT_FIELD: ""})) == ""  # never away
    assert due(conv(assigned_at=str(LEFT - 1))) == ""  # taken before they left
    # Taken after the kept time, when only an e-mail kept the chat queued: replies go by mail.
    assert due(conv(assigned_at=str(LEFT + KEEP + 1))) == ""
    # The grace, when longer, keeps the chat anyway.
    assert ready_mail_once(conv(assigned_at=str(LEFT + 60_000)), "a@b.test", False, 1, GRACE)


def test_the_mail_links_only_to_a_web_page() -> None:
    subject, text, html = render.agent_ready("Shop", "https://shop.test/a?b=1&c=2", "en")
    assert subject == "An agent from Shop is ready for you"
    assert "https://shop.test/a?b=1&c=2" in text
    assert 'href="https://shop.test/a?b=1&amp;c=2"' in html and 'dir="ltr"' in html
    _, text, html = render.agent_ready("Shop", "javascript:alert(1)", "fa")
    assert "javascript" not in text + html
    assert 'dir="rtl"' in html and "سایت را دوباره باز کنید" in text
