from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys

import pytest

from chatserver.core.states import OPEN_STATUSES, Status
from chatserver.widget_routes import (
    ASSETS,
    OPEN_STATES,
    WIDGET_DIR,
    choose_locale,
    color_or,
    compact,
    fill,
    frame_ancestors,
)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("fa-IR",), "fa"),
        (("", None, "fa"), "fa"),
        (("de", "fa_IR"), "fa"),  # an unsupported locale gives way to the next candidate
        (("de-DE,de;q=0.9,fa;q=0.8",), "fa"),  # an Accept-Language header
        (("EN-us", "fa"), "en"),
        (("de", None, ""), "en"),
    ],
)
def test_first_supported_locale_wins(candidates: tuple[str | None, ...], expected: str) -> None:
    assert choose_locale(*candidates) == expected


def test_only_hex_colours() -> None:
    assert color_or("#0f766e", "#000") == "#0f766e"
    assert color_or("#abc", "#000") == "#abc"
    for bad in ("red", "#12345", "#0f766e;background:url(x)", "", None):
        assert color_or(bad, "#000") == "#000"


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ("*", "*"),
        (
            "https://shop.example, http://localhost:8080/",
            "'self' https://shop.example http://localhost:8080",
        ),
        ("https://a.example https://b.example;script-src 'none'", "'self' https://a.example"),
        ("", "'self'"),
    ],
)
def test_frame_ancestors_are_plain_origins(allowed: str, expected: str) -> None:
    assert frame_ancestors(allowed) == expected


def test_compact_minifies_scripts_and_styles() -> None:
    js = "// header\n(() => {\n  const a = 1; // gone too, after code\n\n  // gone\n  return a;\n"
    js += "})();\n"
    assert compact("x.js", js) == "(()=>{const a=1;return a;})();\n"
    # What the minifier must not touch: strings, template literals, regular expressions, and
    # the one space that keeps "+ ++b" from reading as "++ +b".
    kept = "const s = `one\n  two ${ x }`, r = /a b/g, t = 'c // d';\nlet c = a + ++b\n"
    assert compact("x.js", kept) == "const s=`one\n  two ${ x }`,r=/a b/g,t='c // d';let c=a+ ++b\n"
    css = "/* note */\n.a :focus-visible,\n.b > .c {\n  color: red;\n  margin: 0 auto;\n}\n"
    assert compact("x.css", css) == ".a :focus-visible,.b > .c{color:red;margin:0 auto}"


def test_the_served_panel_holds_the_open_states_of_python() -> None:
    """chat.js keeps a placeholder, not a copy: what the browser gets is Python's set, so the
    two cannot drift (the widget's "is this chat still open" is the state machine's)."""
    source = (WIDGET_DIR / "chat.js").read_text(encoding="utf-8")
    assert source.count(OPEN_STATES) == 1
    assert "waiting_on_visitor" not in source  # no hand-written copy of the set left
    served = ASSETS["chat.js"].body.decode()
    assert OPEN_STATES not in served
    (listed,) = re.findall(r"const OPEN=new Set\((\[[^\]]*\])\);", served)
    assert json.loads(listed) == [s.value for s in Status if s in OPEN_STATUSES]
    assert gzip.decompress(ASSETS["chat.js"].gzipped) == ASSETS["chat.js"].body


def test_a_lost_placeholder_stops_the_server_at_start() -> None:
    assert fill("x.js", "const A = new Set(/*A*/[]);", {"/*A*/[]": '["a"]'}) == (
        'const A = new Set(["a"]);'
    )
    with pytest.raises(ValueError, match="placeholder"):
        fill("x.js", 'const A = new Set(["a"]);', {"/*A*/[]": '["a"]'})


def test_every_process_serves_the_same_panel() -> None:
    """A frozenset's order follows the hash seed; the served bytes (and so the content hash
    in the asset URL, which any node may be asked for) must not."""
    code = "from chatserver.widget_routes import ASSETS; print(ASSETS['chat.js'].version)"
    versions = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert versions == {ASSETS["chat.js"].version}


def test_the_shared_socket_is_served_at_the_end_of_the_panel_script() -> None:
    """socket.js (also loaded on its own by the console and the dashboard) rides in chat.js's
    file; chat.js calls it while loading, which works because it is a function declaration
    (hoisted), and the whole file stays in strict mode."""
    served = ASSETS["chat.js"].body.decode()
    socket = compact("socket.js", (WIDGET_DIR / "socket.js").read_text(encoding="utf-8"))
    assert socket.startswith('"use strict";function ChatSocket(')
    assert served.startswith('"use strict";')
    assert served.endswith(socket.removeprefix('"use strict";'))
    assert served.count('"use strict"') == 1
    assert "ChatSocket(" in served.removesuffix(socket.removeprefix('"use strict";'))


# The widget's scripts and the console's, which share widget/chat-common.js and socket.js.
FRONT_END = [*WIDGET_DIR.glob("*.js"), *(WIDGET_DIR.parent / "console" / "static").glob("*.js")]
_STATE = "|".join(Status)
# Two state names side by side in a literal list: a hand-written copy of a set of states.
_COPY = re.compile(rf"""\[\s*["']({_STATE})["']\s*,\s*["']({_STATE})["']""")


def test_no_script_spells_out_a_set_of_states() -> None:
    """The sets come from the server (the panel's served script; the console's data
    attributes, checked in tests/browser/test_served_states.py)."""
    assert len(FRONT_END) > 5
    copies = {p.name: _COPY.findall(p.read_text(encoding="utf-8")) for p in FRONT_END}
    assert {name: found for name, found in copies.items() if found} == {}


def test_the_front_end_has_one_websocket() -> None:
    """The widget, the agent console and the dashboard all use socket.js: one backoff, one
    parse guard, one answer to "reconnect" and to the browser coming back online."""
    opened = {p.name for p in FRONT_END if "new WebSocket(" in p.read_text(encoding="utf-8")}
    assert opened == {"socket.js"}
    for script in (
        WIDGET_DIR / "chat.js",
        WIDGET_DIR.parent / "console" / "static" / "agent.js",
        WIDGET_DIR.parent / "console" / "static" / "dashboard.js",
    ):
        assert "ChatSocket({" in script.read_text(encoding="utf-8"), script.name
    for page in ("agent.html", "dashboard.html"):
        template = WIDGET_DIR.parent / "console" / "templates" / page
        assert '<script src="/static/widget/socket.js" defer>' in template.read_text(), page
