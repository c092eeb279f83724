"""Labels without Redis: what a name and colour may be, the key that keeps names unique
across case, spacing and Persian/Arabic letter forms, stored records, and reading ids."""

from __future__ import annotations

import pytest

from chatserver.core.labels import (
    DEFAULT_COLOR,
    MAX_LABELS,
    PALETTE,
    Label,
    LabelError,
    clean_color,
    clean_name,
    conversation_label_ids,
    decode,
    encode,
    name_key,
    parse_ids,
    resolve_labels,
    site_labels,
)


def test_names_are_trimmed_and_1_to_32_characters() -> None:
    assert clean_name("  پرداخت  ") == "پرداخت"
    assert clean_name("Refund \t  request") == "Refund request"
    assert clean_name("x" * 32) == "x" * 32
    assert clean_name("نیم\u200cفاصله") == "نیم\u200cفاصله"  # the ZWNJ Persian needs stays
    for bad in ("", "   ", "x" * 33, "bell\x07", "nul\x00", "\u202eevil", "del\x7f"):
        with pytest.raises(LabelError) as exc:
            clean_name(bad)
        assert exc.value.code == "invalid_name", repr(bad)


def test_names_are_stored_in_nfc() -> None:
    assert clean_name("e\u0301") == "\u00e9"


def test_the_palette_holds_named_colours_only() -> None:
    assert len(PALETTE) == 8 and DEFAULT_COLOR in PALETTE
    assert clean_color("") == DEFAULT_COLOR
    assert clean_color(" Blue ") == "blue"
    for bad in ("#ff0000", "chartreuse", "red;", "rgb(0,0,0)"):
        with pytest.raises(LabelError) as exc:
            clean_color(bad)
        assert exc.value.code == "invalid_color"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("VIP", "vip"),
        ("Refund request", "refund  REQUEST"),
        ("کیف", "كيف"),  # Persian keheh and yeh, Arabic kaf and yeh
        ("پرداخت", "پرداخـــت"),  # a tatweel stretching it
        ("سفارش ۱۲", "سفارش 12"),  # Persian digits
        ("نیم‌فاصله", "نیمفاصله"),  # with and without the ZWNJ
    ],
)
def test_names_that_read_the_same_share_a_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


def test_different_names_have_different_keys() -> None:
    assert name_key("پرداخت") != name_key("پرداخت شد")
    assert name_key("VIP") != name_key("VIP2")


def test_records_round_trip_and_bad_ones_are_not_guessed_at() -> None:
    raw = encode("پرداخت", "green")
    assert decode("l_1", raw) == Label("l_1", "پرداخت", "green")
    assert decode("l_1", "not json") is None
    assert decode("l_1", '{"color": "red"}') is None
    assert decode("l_1", '{"name": "x", "color": "#fff"}') == Label("l_1", "x", DEFAULT_COLOR)
    labels = site_labels({"l_b": encode("b", "red"), "l_a": encode("A", "blue"), "l_x": "?"})
    assert [lab.id for lab in labels] == ["l_a", "l_b"]  # by name, the broken one left out


def test_a_conversations_ids_and_deleted_labels() -> None:
    assert conversation_label_ids(None) == []
    assert conversation_label_ids("") == []
    assert conversation_label_ids("l_a l_b") == ["l_a", "l_b"]
    site = [Label("l_a", "A", "red"), Label("l_b", "B", "blue")]
    assert resolve_labels(["l_b", "l_gone", "l_a"], site) == site  # the site's order


def test_a_clients_list_of_ids() -> None:
    assert parse_ids(["l_a", "l_b", "l_a"]) == ["l_a", "l_b"]
    assert parse_ids([]) == []
    for bad in ("l_a", [1], ["nope"], ["l_" + "x" * 41], [f"l_{i}" for i in range(MAX_LABELS + 1)]):
        with pytest.raises(LabelError) as exc:
            parse_ids(bad)
        assert exc.value.code == "invalid_field"
