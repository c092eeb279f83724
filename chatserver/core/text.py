"""Text as search compares it: the same word typed on a Persian, an Arabic or a Latin
keyboard matches.

Persian is often typed on Arabic layouts (ي and ك for ی and ک), numbers in Persian or
Arabic-Indic digits (۱۲۳۴۵, ١٢٣٤٥), with a tatweel stretching a word or a zero-width
non-joiner between its parts; none of these change what a reader sees as the word.
"""

from __future__ import annotations

_TABLE = str.maketrans(
    {
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
        "\u0649": "\u06cc",  # alef maksura -> Persian yeh
        "\u0643": "\u06a9",  # Arabic kaf -> keheh
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u0640": None,  # tatweel
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        **{chr(c): None for c in range(0x064B, 0x0660)},  # harakat (short vowels, shadda)
    }
)


def fold(text: str) -> str:
    """``text`` reduced to what search compares: case, digits and letter forms folded."""
    return text.translate(_TABLE).casefold()
