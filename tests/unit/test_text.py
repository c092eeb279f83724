"""Search folding: what a reader sees as the same word matches, whatever the keyboard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.text import fold


def test_persian_and_arabic_forms_and_digits_fold_alike() -> None:
    assert fold("سفارش ۱۲۳۴۵") == fold("سفارش 12345") == fold("سفارش ١٢٣٤٥")
    assert fold("كيف") == fold("کیف")  # Arabic kaf and yeh typed for Persian
    assert fold("می‌خواهم") == fold("میخواهم")  # with and without the zero-width non-joiner
    assert fold("ســلام") == fold("سلام")  # tatweel
    assert fold("مُحَمَّد") == fold("محمد")  # short vowels and shadda
    assert fold("Order ABC") == "order abc"


@given(st.text())
def test_folding_is_idempotent_and_never_grows_the_text(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert len(once) <= len(text.casefold())
