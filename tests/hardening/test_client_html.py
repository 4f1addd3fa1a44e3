"""Text from other people is never markup in the web client.

A participant Podium's client never met (a raw WebSocket, a name the embedder put in its token)
sends HTML and script wherever text reaches other people's screens: chat, display names, poll
questions and options, Q&A questions, raised hands, slide deck names. Real Chromium pages must
show the characters, create no element from them and run none of them. A static check keeps
the client's code from ever handing a non-literal string to an HTML sink.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Dialog, expect

from tests.browser.conftest import browser  # noqa: F401  (the browser tests' Chromium, shared)
from tests.hardening.conftest import Tally
from tests.plugins.pdf import make_pdf
from tests.support.browser import BrowserParticipant, Meeting
from tests.support.client import Member, TenantClient
from tests.support.server import Deployment, Node

ROOT = Path(__file__).resolve().parents[2]

# ---- the static check --------------------------------------------------------------------------------------

#: Everything that turns a string into markup (or script) when it is assigned or passed to it.
SINKS = re.compile(
    r"\.(?P<prop>innerHTML|outerHTML|srcdoc)\s*(?P<op>\+?=)(?!=)"
    r"|\b(?P<call>insertAdjacentHTML|document\.write(?:ln)?|createContextualFragment|parseFromString"
    r"|setHTMLUnsafe|parseHTMLUnsafe)\s*\("
)
#: A whole string literal: quoted, or a template literal without ``${…}``.
LITERAL = re.compile(r"""\s*(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.|\$(?!\{))*`)\s*""")


def client_sources() -> list[Path]:
    """The web client's own scripts, its plugins' and the plugin template's (vendor code excluded:
    it is third-party, pinned, and not where Podium renders people's text)."""
    found = [p for p in (ROOT / "core" / "static").rglob("*.js") if "vendor" not in p.parts]
    found += sorted((ROOT / "plugins").glob("*/client/*.js"))
    found += sorted((ROOT / "plugin_template").rglob("client/*.js*"))
    return sorted(found)


def without_comments(code: str) -> str:
    """``code`` with comments blanked out, strings and template literals left as they are."""
    out: list[str] = []
    index, quote = 0, ""
    while index < len(code):
        char = code[index]
        if quote:
            out.append(char)
            if char == "\\":
                out.append(code[index + 1 : index + 2])
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
            out.append(char)
        elif code.startswith("//", index):
            end = code.find("\n", index)
            index = len(code) if end == -1 else end
            continue
        elif code.startswith("/*", index):
            end = code.find("*/", index + 2)
            index = len(code) if end == -1 else end + 2
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def html_sinks(code: str) -> list[str]:
    """Each HTML sink in ``code`` fed anything but a string literal, as ``line: text``."""
    code = without_comments(code)
    found = []
    for match in SINKS.finditer(code):
        rest = code[match.end() :]
        if match["call"] == "insertAdjacentHTML":  # the markup is the second argument
            position = LITERAL.match(rest)
            rest = rest[position.end() + 1 :] if position and rest[position.end() :].startswith(",") else ""
        literal = LITERAL.match(rest)
        closer = rest[literal.end() : literal.end() + 1] if literal else ""
        if literal is None or closer not in (";", ")", "\n", ""):
            line = code.count("\n", 0, match.start()) + 1
            found.append(f"{line}: {code[match.start() : match.end() + 40].splitlines()[0]}")
    return found


def test_the_sink_check_tells_literals_from_data() -> None:
    """The check itself: it catches data in every sink and lets literals (clearing, fixed markup) by."""
    caught = [
        "el.innerHTML = name;",
        "el.innerHTML += `<b>${name}</b>`;",
        'el.outerHTML = "<p>" + text + "</p>";',
        "el.insertAdjacentHTML('beforeend', html);",
        "document.write(location.hash);",
        "frame.srcdoc = page;",
        "range.createContextualFragment(markup)",
        "new DOMParser().parseFromString(text, 'text/html')",
    ]
    allowed = [
        'el.innerHTML = "";',
        "el.innerHTML = '<span class=\"dot\"></span>';",
        "el.insertAdjacentHTML('beforeend', `<hr>`);",
        "if (el.innerHTML === value) {}",
        "// el.innerHTML = name;",
        "el.textContent = name;",
    ]
    assert [bool(html_sinks(code)) for code in caught] == [True] * len(caught)
    assert [html_sinks(code) for code in allowed] == [[]] * len(allowed)


def test_the_web_client_never_hands_data_to_an_html_sink(tally: Tally) -> None:
    sources = client_sources()
    assert len(sources) > 30 and any(p.name == "chat.js" for p in sources)  # the glob still finds the client
    found = {str(p.relative_to(ROOT)): sinks for p in sources if (sinks := html_sinks(p.read_text()))}
    tally.tried(len(sources))
    tally.held(len(sources) - len(found))
    assert found == {}, "render people's text with textContent / dom.js's h(), never as HTML"


# ---- real pages ----------------------------------------------------------------------------------------

#: Each payload would set ``window.__pwned`` (or add an element) if it were parsed as HTML.
PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    '"><svg onload="window.__pwned=1">',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    '<a href="javascript:window.__pwned=1">click</a> javascript:window.__pwned=1',
    "<b onmouseover=window.__pwned=1>bold</b> <style>*{display:none}</style>",
]
SENTINEL = "-- end of the attack --"

#: Anything on the page that parsing a payload would have made (the client itself uses no inline
#: handlers, frames, inline scripts or ``javascript:`` links).
_DAMAGE = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}`);
    }
    const link = (el.getAttribute('href') || el.getAttribute('src') || '').trim().toLowerCase();
    if (link.startsWith('javascript:') || link === 'x') found.push(`${el.tagName} ${link}`);
  }
  for (const el of document.querySelectorAll('iframe, script:not([src]), style')) found.push(el.tagName);
  const chatImages = document.querySelectorAll('[data-testid=chat-log] img').length;
  return { found, pwned: typeof window.__pwned, chatImages };
}"""
UNHARMED = {"found": [], "pwned": "undefined", "chatImages": 0}


@pytest_asyncio.fixture(loop_scope="session")
async def hostile_room(browser: Browser, deployment: Deployment, node: Node) -> AsyncIterator[Meeting]:  # noqa: F811
    """People of a tenant with polls, Q&A and slides on, in Chromium."""
    issued = deployment.create_tenant(f"Markup {uuid.uuid4().hex[:6]}")
    tenant = TenantClient(node.url, node.ws_url, issued["tenant"], issued["key_id"], issued["secret"])
    for name in ("polls", "qa", "slides"):
        response = await tenant.http.put(f"/plugins/{name}", json={"enabled": True, "config": {}})
        assert response.status_code == 200, response.text
    people = Meeting(browser, tenant)
    yield people
    await people.close()
    await tenant.close()


async def _mallory(tenant: TenantClient, room: str, name: str) -> tuple[Member, str]:
    """A moderator on a raw WebSocket, named by the embedder with a payload; and her token."""
    token = await tenant.token(room, "mallory", "moderator", name=name)
    member = await Member.connect(tenant.ws_url, tenant.slug, room, token)
    await member.next("welcome")
    return member, token


async def _upload(tenant: TenantClient, room: str, token: str, name: str) -> str:
    """A one-page deck named ``name``; its id."""
    async with httpx.AsyncClient(base_url=tenant.base_url, timeout=30) as http:
        response = await http.post(
            f"/api/v1/plugins/slides/{tenant.slug}/{room}/decks",
            params={"name": name},
            content=make_pdf(1),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _attack(mallory: Member, tenant: TenantClient, room: str, token: str, target: str) -> None:
    """Markup everywhere text goes: chat (to all and to ``target`` alone) under a payload name, then
    a new payload name, a poll, a question, a raised hand and a presented deck."""

    async def ok(message: dict[str, Any]) -> None:
        reply = await mallory.request(message)
        assert reply["type"] == "ack", reply

    for payload in PAYLOADS:
        await ok({"type": "chat.send", "text": payload})
    await ok({"type": "chat.send", "text": PAYLOADS[1], "to": "participant", "recipient": target})
    await ok({"type": "self.update", "name": PAYLOADS[5]})
    poll = {"question": PAYLOADS[2], "options": PAYLOADS[:4]}
    await ok({"type": "plugin", "plugin": "polls", "action": "create", "data": poll})
    await ok({"type": "plugin", "plugin": "qa", "action": "question.ask", "data": {"text": PAYLOADS[3]}})
    await ok({"type": "self.update", "hand_raised": True})
    deck = await _upload(tenant, room, token, PAYLOADS[4])
    while (await mallory.next("plugin.event", event="deck"))["data"]["status"] == "rendering":
        pass
    await ok({"type": "plugin", "plugin": "slides", "action": "present", "data": {"deck_id": deck}})
    await ok({"type": "chat.send", "text": SENTINEL})


@pytest.mark.embedded_only
@pytest.mark.asyncio(loop_scope="session")
async def test_hostile_text_reaches_every_screen_as_text(hostile_room: Meeting, tally: Tally) -> None:
    tenant = hostile_room.tenant
    room = await hostile_room.room()
    hana = await hostile_room.join(room, "hana", "host")
    ann = await hostile_room.join(room, "ann", "attendee")
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    for person in (hana, ann):
        person.page.on("dialog", dismiss)
    mallory, token = await _mallory(tenant, room, PAYLOADS[0])
    await _attack(mallory, tenant, room, token, await hana.participant_id())

    for person in (hana, ann):
        tally.tried()
        await _reads_every_payload(person)
        assert await person.page.evaluate(_DAMAGE) == UNHARMED, person.identity
        tally.held()
    # Hosts also see the deck list and the raised hands.
    tally.tried()
    await _open_panel(hana, "slides-button", "slides-deck")
    await expect(hana.page.get_by_test_id("slides-deck").first).to_contain_text(PAYLOADS[4])
    await hana.page.get_by_test_id("tab-participants").click()
    hand = hana.page.get_by_test_id("hand-row").get_by_test_id("hand-name")
    await expect(hand).to_have_text(f"1. {PAYLOADS[5]}")
    assert await hana.page.evaluate(_DAMAGE) == UNHARMED
    assert dialogs == []
    tally.held()


async def _open_panel(person: BrowserParticipant, button: str, shows: str) -> None:
    """Open a plugin's side panel (unless it is open already: the button toggles it)."""
    if not await person.page.get_by_test_id(shows).first.is_visible():
        await person.page.get_by_test_id(button).click()
    await expect(person.page.get_by_test_id(shows).first).to_be_visible()


async def _reads_every_payload(person: BrowserParticipant) -> None:
    """``person`` reads each payload, character for character, where it was sent."""
    texts = await person.chat_texts(SENTINEL)
    assert [t for t in texts if t in PAYLOADS] == PAYLOADS + ([PAYLOADS[1]] if person.role == "host" else [])
    senders = await person.page.get_by_test_id("chat-log").get_by_test_id("chat-sender").all_inner_texts()
    assert PAYLOADS[0] in [s.strip() for s in senders], senders
    await person.page.get_by_test_id("tab-participants").click()
    await expect(person.page.get_by_test_id("participant-name").filter(has_text=PAYLOADS[5])).to_have_count(1)
    caption = f"{PAYLOADS[5]} is presenting {PAYLOADS[4]}"
    await expect(person.page.get_by_test_id("slide-caption")).to_have_text(caption)
    await _open_panel(person, "polls-button", "poll-card")
    card = person.page.get_by_test_id("poll-card")
    await expect(card.get_by_test_id("poll-question")).to_have_text(PAYLOADS[2])
    options = card.get_by_test_id("poll-option")
    await expect(options).to_have_count(4)
    for index, payload in enumerate(PAYLOADS[:4]):
        await expect(options.nth(index)).to_contain_text(payload)
    await _open_panel(person, "qa-button", "question")
    await expect(person.page.get_by_test_id("question").locator(".qa-text")).to_have_text(PAYLOADS[3])
