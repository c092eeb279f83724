"""The signed reply address and the cut of a reply's quoted history (core/mail_reply.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.mail_reply import parse_reply_address, reply_address, strip_quoted

KEY = "k" * 40
DOMAIN = "in.chat.test"


def test_the_address_names_its_conversation_and_nothing_else() -> None:
    addr = reply_address(KEY, "shop", "c_Ab-9_x", DOMAIN)
    assert addr.startswith("reply+shop.c_Ab-9_x.") and addr.endswith("@in.chat.test")
    assert parse_reply_address([KEY], [f"Support <{addr}>"], DOMAIN) == ("shop", "c_Ab-9_x")
    # Another conversation's mac, another key, another domain, a changed site: refused.
    other = reply_address(KEY, "shop", "c_other", DOMAIN)
    forged = addr.replace("c_Ab-9_x", "c_other")
    assert parse_reply_address([KEY], [forged], DOMAIN) is None
    assert parse_reply_address(["x" * 40], [addr], DOMAIN) is None
    assert parse_reply_address([KEY], [addr.replace(DOMAIN, "evil.test")], DOMAIN) is None
    assert parse_reply_address([KEY], [addr.replace("+shop.", "+demo.")], DOMAIN) is None
    # Among several recipients; and with an old key during a rotation.
    assert parse_reply_address([KEY], ["team@shop.test", other], DOMAIN) == ("shop", "c_other")
    assert parse_reply_address(["new" * 20, KEY], [addr], DOMAIN) == ("shop", "c_Ab-9_x")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40))
def test_any_site_round_trips(site: str) -> None:
    addr = reply_address(KEY, site, "c_x1", DOMAIN)
    assert parse_reply_address([KEY], [addr], DOMAIN) == (site, "c_x1")


def test_quoted_history_and_signature_are_cut() -> None:
    gmail = (
        "Thanks, it arrived!\n\nOn Tue, Dec 1, 2026 at 18:00 Support <reply+a@b> wrote:\n"
        "> We shipped it today.\n"
    )
    assert strip_quoted(gmail) == "Thanks, it arrived!"
    wrapped = "Yes please\r\nOn Tue, Dec 1, 2026 at 18:00, Support\r\n<x@y> wrote:\r\n> old\r\n"
    assert strip_quoted(wrapped) == "Yes please"
    outlook = "Fine.\n\n-----Original Message-----\nFrom: Support\nSent: today\n"
    assert strip_quoted(outlook) == "Fine."
    persian = "ممنون، رسید.\n\nدر تاریخ سه‌شنبه ۱ دسامبر، پشتیبانی نوشت:\n> ارسال شد\n"
    assert strip_quoted(persian) == "ممنون، رسید."
    signed = "See you\n-- \nAli\nCEO"
    assert strip_quoted(signed) == "See you"
    assert strip_quoted("> only quoted\n> text") == ""
