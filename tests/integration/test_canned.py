"""Canned responses over HTTP: each agent's personal set through the console's endpoints
(their own only, limits and clear errors), the shared set managed by admins and the site's
supervisors, and usage counts (counted per entry, deleted with it)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from chatserver.store import Store
from tests.integration.account_support import get, store_call
from tests.integration.security_support import Reply, http
from tests.servers import LiveServer

CANNED = "/admin/sites/demo/canned"


def api(live: LiveServer, token: str, method: str, path: str, payload: Any = None) -> Reply:
    """A console API call with a bearer session (an API client: no CSRF token needed)."""
    data = payload if isinstance(payload, bytes | None) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    req = urllib.request.Request(live.base_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return Reply(resp.status, resp.headers, resp.read().decode())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.headers, exc.read().decode())


def body(reply: Reply) -> Any:
    return json.loads(reply.body) if reply.body else None


def mine(live: LiveServer, token: str) -> dict[str, Any]:
    items = body(api(live, token, "GET", "/api/console/canned/mine"))["items"]
    return {i["shortcut"]: i for i in items}


def shared_form(live: LiveServer, token: str, path: str, form: dict[str, str]) -> Reply:
    return http(
        live.base_url, path, {**form, "csrf_token": "t"}, token=token, cookies={"cs_csrf": "t"}
    )


def test_an_agent_keeps_their_own_canned_responses(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("sara@example.com", name="Sara")
    live.add_agent("omid@example.com", name="Omid")
    sara, omid = live.login("sara@example.com"), live.login("omid@example.com")

    text = "سلام {name|دوست}، من {agent} از {site} هستم"
    made = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "/سلام", "text": text})
    assert made.status == 201, made.body
    assert body(made)["item"] == {"shortcut": "سلام", "text": text, "uses": 0}
    # Typed on an Arabic keyboard, the same shortcut: the same entry, its text replaced.
    again = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "كمك", "text": "a"})
    assert again.status == 201
    same = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "کمک", "text": "b"})
    assert same.status == 200 and body(same)["item"]["text"] == "b"
    assert set(mine(live, sara)) == {"سلام", "کمک"}
    # Omid sees none of them, in his list or the picker's; deleting hers finds nothing.
    assert mine(live, omid) == {}
    picker = body(api(live, omid, "GET", "/api/console/canned"))["items"]
    assert all(i["scope"] == "shared" for i in picker)
    gone = api(live, omid, "DELETE", "/api/console/canned/mine/" + urllib.parse.quote("کمک"))
    assert gone.status == 404 and body(gone)["error"] == "not_found"
    assert set(mine(live, sara)) == {"سلام", "کمک"}

    # Bad input: a clear code each, nothing saved.
    for sent, status, code in (
        ({"shortcut": "bad shortcut", "text": "x"}, 400, "invalid_shortcut"),
        ({"shortcut": "", "text": "x"}, 400, "invalid_shortcut"),
        ({"shortcut": "ok", "text": "   "}, 400, "invalid_text"),
        ({"shortcut": "ok", "text": "x" * 4001}, 400, "invalid_text"),
        ({"shortcut": "ok", "text": "Hi {foo}"}, 400, "unknown_variable"),
        ({"shortcut": "ok", "text": "Hi {name|" + "x" * 101 + "}"}, 400, "invalid_fallback"),
        ({"shortcut": 5, "text": "x"}, 400, "invalid_json"),
        ([1, 2], 400, "invalid_json"),
        (b"{not json", 400, "invalid_json"),
        (b'{"shortcut": "big", "text": "' + b"x" * 70_000 + b'"}', 413, "too_large"),
    ):
        refused = api(live, sara, "POST", "/api/console/canned/mine", sent)
        assert (refused.status, body(refused)["error"]) == (status, code), sent
    assert (
        "{foo}"
        in body(
            api(
                live,
                sara,
                "POST",
                "/api/console/canned/mine",
                {"shortcut": "ok", "text": "Hi {foo}"},
            )
        )["message"]
    )
    assert set(mine(live, sara)) == {"سلام", "کمک"}

    # Without a session: 401; with the session cookie but no CSRF token: 403.
    anon = http(live.base_url, "/api/console/canned/mine", json_body=b'{"shortcut":"a","text":"b"}')
    assert anon.status == 401
    forged = http(
        live.base_url,
        "/api/console/canned/mine",
        json_body=b'{"shortcut":"a","text":"b"}',
        cookies={"cs_session": sara},
    )
    assert forged.status == 403 and body(forged)["error"] == "forbidden"
    assert set(mine(live, sara)) == {"سلام", "کمک"}

    # Deleting deletes it (and its count).
    assert (
        api(
            live, sara, "POST", "/api/console/canned/uses", {"shortcut": "کمک", "scope": "personal"}
        ).status
        == 200
    )
    deleted = api(live, sara, "DELETE", "/api/console/canned/mine/" + urllib.parse.quote("كمك"))
    assert deleted.status == 204
    assert set(mine(live, sara)) == {"سلام"}
    agent_id = store_call(live, lambda s: s.account_id_by_email("sara@example.com"))
    assert store_call(live, lambda s: s.personal_canned_uses(agent_id)) == {}
    # Deactivating her account keeps her set; dropping it (deleting an account) leaves none.
    live.add_agent("root@example.com", name="Root", role="admin")
    root = live.login("root@example.com")
    for step in ("deactivate", "reactivate"):
        assert shared_form(live, root, f"/admin/agents/{agent_id}/{step}", {}).status == 303
    sara = live.login("sara@example.com")
    assert set(mine(live, sara)) == {"سلام"}
    store_call(live, lambda s: s.drop_personal_canned(agent_id))
    assert mine(live, sara) == {}


def test_the_personal_limit_is_kept(live_server: LiveServer) -> None:
    live = live_server
    agent_id = live.add_agent("sara@example.com", name="Sara")
    sara = live.login("sara@example.com")

    async def fill(store: Store) -> None:
        for i in range(199):
            assert await store.save_personal_canned(agent_id, f"c{i}", "text", 200) == "created"

    store_call(live, fill)
    last = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "last", "text": "x"})
    assert last.status == 201
    over = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "over", "text": "x"})
    assert over.status == 409 and body(over)["error"] == "personal_canned_limit"
    # At the limit an existing one can still be edited.
    edit = api(live, sara, "POST", "/api/console/canned/mine", {"shortcut": "c1", "text": "y"})
    assert edit.status == 200
    assert body(api(live, sara, "GET", "/api/console/canned/mine"))["limit"] == 200
    assert len(mine(live, sara)) == 200


def test_supervisors_manage_their_sites_shared_set_and_usage_is_counted(
    live_server: LiveServer,
) -> None:
    live = live_server
    live.add_agent("root@example.com", name="Root", role="admin")
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    live.add_agent("otto@example.com", name="Otto", role="supervisor", site="other")
    live.add_agent("sara@example.com", name="Sara")
    sue, otto, sara = (live.login(f"{n}@example.com") for n in ("sue", "otto", "sara"))

    # The site's supervisor adds to the shared set, in any script; the form shows errors.
    added = shared_form(live, sue, CANNED, {"shortcut": "/خوش-آمد", "text": "خوش آمدید {name|}"})
    assert added.status == 303, added.body[:300]
    for form, says in (
        ({"shortcut": "a b", "text": "x"}, "A shortcut is 1-32 letters or digits"),
        ({"shortcut": "ok", "text": "Hi {visitor}"}, "{visitor} is not a variable"),
    ):
        refused = shared_form(live, sue, CANNED, form)
        assert refused.status == 400 and says in refused.body, refused.body[-2000:]
    assert shared_form(live, sue, CANNED, {"shortcut": "hello", "text": "Hi {name}"}).status == 303
    page = get(live.base_url, CANNED, sue)
    assert "/خوش-آمد" in page.body and 'data-testid="add-canned"' in page.body
    assert 'data-testid="read-only"' not in page.body
    # Another site's supervisor sees it read-only and changes nothing; an agent gets 403.
    other = get(live.base_url, CANNED, otto)
    assert other.status == 200 and 'data-testid="add-canned"' not in other.body
    assert 'data-testid="read-only"' in other.body
    assert shared_form(live, otto, CANNED, {"shortcut": "x", "text": "y"}).status == 403
    assert shared_form(live, otto, f"{CANNED}/delete", {"shortcut": "hello"}).status == 403
    assert shared_form(live, sara, CANNED, {"shortcut": "x", "text": "y"}).status == 403
    assert get(live.base_url, CANNED, sara).status == 403
    assert set(store_call(live, lambda s: s.canned_responses("demo"))) == {"خوش-آمد", "hello"}

    # An agent's insertions are counted per entry; the list is ordered by them.
    def use(shortcut: str, scope: str) -> Reply:
        return api(
            live, sara, "POST", "/api/console/canned/uses", {"shortcut": shortcut, "scope": scope}
        )

    assert body(use("خوش-آمد", "shared")) == {"uses": 1}
    assert body(use("خوش-آمد", "shared")) == {"uses": 2}
    assert (
        api(
            live,
            sara,
            "POST",
            "/api/console/canned/mine",
            {"shortcut": "hello", "text": "Hey {agent}"},
        ).status
        == 201
    )
    assert body(use("hello", "personal")) == {"uses": 1}
    for sent, status in (
        ({"shortcut": "nothing", "scope": "shared"}, 404),
        ({"shortcut": "خوش-آمد", "scope": "personal"}, 404),  # not one of hers
        ({"shortcut": "hello", "scope": "everyone"}, 400),
        ({"shortcut": "-", "scope": "shared"}, 404),
    ):
        assert use(str(sent["shortcut"]), str(sent["scope"])).status == status, sent
    items = body(api(live, sara, "GET", "/api/console/canned"))["items"]
    assert [(i["shortcut"], i["scope"], i["uses"]) for i in items] == [
        ("خوش-آمد", "shared", 2),
        ("hello", "personal", 1),  # the same shortcut in both sets: both, hers first
        ("hello", "shared", 0),
    ]
    assert 'data-testid="canned-uses">2<' in get(live.base_url, CANNED, sue).body
    # Deleting a shared entry deletes its count: added again, it starts from none.
    assert shared_form(live, sue, f"{CANNED}/delete", {"shortcut": "خوش-آمد"}).status == 303
    assert store_call(live, lambda s: s.canned_uses("demo")) == {}
    shared_form(live, sue, CANNED, {"shortcut": "خوش-آمد", "text": "again"})
    assert body(use("خوش-آمد", "shared")) == {"uses": 1}
