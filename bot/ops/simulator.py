"""Terminal KakaoTalk simulator: talks to a running Sotong server the way Open Builder does.

    python -m bot.ops.simulator                          # interactive chat
    python -m bot.ops.simulator --script dialogue.txt    # replay utterances, print the transcript
    python -m bot.ops.simulator --callback               # let slow turns answer through a callback

It POSTs SkillPayloads (with the shared secret header) to the Kakao webhook and renders the
SkillResponse as a citizen would see it: text bubbles, images, cards with their buttons,
carousels, list cards and quick replies. Every tappable choice gets a number; typing the number
taps it (sends its messageText, with its ``extra`` as ``action.clientExtra``, as KakaoTalk does).

Commands: a number taps a choice; ``/photo URL [URL ...]`` sends images as the image plugin
would; ``/quit`` (or Ctrl-D) ends. In a script, lines starting with ``#`` are comments and a
line holding only a number taps that choice of the previous answer.

Settings: ``--url`` (env ``SOTONG_KAKAO_URL``, default http://127.0.0.1:5005/webhooks/kakao/webhook),
``--secret`` (env ``KAKAO_SKILL_SECRET``), ``--secret-header`` (env ``KAKAO_SECRET_HEADER``,
default X-Sotong-Secret), ``--user-id``.
"""

import argparse
import json
import queue
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from bot.settings import env_str, env_url

DEFAULT_URL = "http://127.0.0.1:5005/webhooks/kakao/webhook"
DEFAULT_SECRET_HEADER = "X-Sotong-Secret"
CALLBACK_WAIT_SECONDS = 60  # Open Builder's callback URLs are valid for one minute
WIDTH = 72


# --------------------------------------------------------------------------- protocol


def build_skill_payload(
    utterance: str,
    user_id: str,
    *,
    client_extra: dict[str, Any] | None = None,
    callback_url: str | None = None,
    image_urls: Iterable[str] = (),
) -> dict[str, Any]:
    """A SkillPayload like the ones Open Builder sends."""
    block = {"id": "simulator-block", "name": "시뮬레이터"}
    params: dict[str, Any] = {}
    detail_params: dict[str, Any] = {}
    image_urls = list(image_urls)
    if image_urls:
        value = json.dumps(
            {
                "privacyAgreement": "Y",
                "imageQuantity": str(len(image_urls)),
                "secureUrls": f"List({', '.join(image_urls)})",
            }
        )
        params["secureimage"] = value
        detail_params["secureimage"] = {"origin": value, "value": value, "groupName": ""}
    user_request: dict[str, Any] = {
        "timezone": "Asia/Seoul",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "block": block,
        "utterance": utterance,
        "lang": "ko",
        "user": {"id": user_id, "type": "botUserKey", "properties": {"botUserKey": user_id}},
    }
    if callback_url:
        user_request["callbackUrl"] = callback_url
    return {
        "intent": block,
        "userRequest": user_request,
        "bot": {"id": "simulator-bot", "name": "소통 시뮬레이터"},
        "action": {
            "id": "simulator-action",
            "name": "sotong_skill",
            "clientExtra": client_extra or {},
            "params": params,
            "detailParams": detail_params,
        },
    }


class SkillClient:
    """POSTs SkillPayloads to the webhook; optionally receives callbacks on a local port."""

    def __init__(self, url: str, secret: str, secret_header: str, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.secret_header = secret_header
        self.timeout = timeout
        self.callbacks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.callback_url: str | None = None
        self._callback_server: ThreadingHTTPServer | None = None

    def start_callback_receiver(self) -> None:
        inbox = self.callbacks

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    inbox.put(json.loads(body))
                    self.send_response(200)
                except ValueError:
                    self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "SUCCESS"}')

            def log_message(self, *args: Any) -> None:
                pass

        self._callback_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.callback_url = f"http://127.0.0.1:{self._callback_server.server_port}/callback"
        threading.Thread(target=self._callback_server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self._callback_server is not None:
            self._callback_server.shutdown()
            self._callback_server.server_close()

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json", self.secret_header: self.secret},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            raise SimulatorError(f"server answered HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SimulatorError(f"cannot reach {self.url}: {error}") from None


class SimulatorError(Exception):
    pass


# --------------------------------------------------------------------------- rendering


@dataclass
class Choice:
    label: str
    message_text: str
    extra: dict[str, Any] = field(default_factory=dict)


class Renderer:
    """Turns a SkillResponse into lines of text and the list of choices it offers."""

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self.lines: list[str] = []
        self.choices: list[Choice] = []

    def _say(self, text: str, indent: str = "    ") -> None:
        for paragraph in text.split("\n"):
            wrapped = textwrap.wrap(paragraph, self.width - len(indent)) or [""]
            self.lines.extend(indent + line for line in wrapped)

    def _choice(self, label: str, message_text: str | None, extra: Any) -> str:
        self.choices.append(Choice(label, message_text or label, extra if isinstance(extra, dict) else {}))
        return f"[{len(self.choices)}] {label}"

    def _button(self, button: dict[str, Any], indent: str) -> None:
        action, label = button.get("action"), button.get("label", "")
        if action in ("message", "block"):
            line = self._choice(label, button.get("messageText"), button.get("extra"))
        elif action == "webLink":
            line = f"[링크] {label} → {button.get('webLinkUrl')}"
        elif action == "phone":
            line = f"[전화] {label} → {button.get('phoneNumber')}"
        else:
            line = f"[{action}] {label}"
        self.lines.append(indent + line)

    def _card(self, kind: str, card: dict[str, Any], indent: str = "    ") -> None:
        self.lines.append(f"{indent}┌─ {kind}")
        inner = indent + "│ "
        if isinstance(card.get("header"), dict):
            self._say(f"■ {card['header'].get('title', '')}", inner)
        if card.get("title"):
            self._say(f"■ {card['title']}", inner)
        if card.get("description"):
            self._say(card["description"], inner)
        thumbnail = card.get("thumbnail")
        if isinstance(thumbnail, dict) and thumbnail.get("imageUrl"):
            self.lines.append(f"{inner}(이미지) {thumbnail['imageUrl']}")
        for item in card.get("items") or []:
            if item.get("action") in ("message", "block"):
                line = self._choice(item.get("title", ""), item.get("messageText"), item.get("extra"))
            else:
                line = f"· {item.get('title', '')}"
            self._say(line + (f" — {item['description']}" if item.get("description") else ""), inner)
        for button in card.get("buttons") or []:
            self._button(button, inner)
        self.lines.append(indent + "└─")

    def render(self, response: dict[str, Any]) -> "Renderer":
        if response.get("useCallback"):
            self._say(f"(잠시 후 답변이 와요) {response.get('data', {}).get('text', '')}")
            return self
        template = response.get("template") or {}
        for output in template.get("outputs") or []:
            ((kind, body),) = output.items()
            if kind == "simpleText":
                self._say(body.get("text", ""))
            elif kind == "simpleImage":
                self.lines.append(f"    (이미지: {body.get('altText', '')}) {body.get('imageUrl')}")
            elif kind == "carousel":
                items = body.get("items") or []
                for index, item in enumerate(items, 1):
                    self._card(f"{body.get('type')} {index}/{len(items)}", item)
            else:
                self._card(kind, body)
        quick_replies = template.get("quickReplies") or []
        if quick_replies:
            labels = [self._choice(q.get("label", ""), q.get("messageText"), q.get("extra")) for q in quick_replies]
            self._say("  ".join(labels), "    ")
        return self


# --------------------------------------------------------------------------- conversation


class Conversation:
    def __init__(self, client: SkillClient, user_id: str, out: TextIO) -> None:
        self.client = client
        self.user_id = user_id
        self.out = out
        self.choices: list[Choice] = []
        self.errors = 0

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _show(self, response: dict[str, Any]) -> None:
        renderer = Renderer().render(response)
        self._print("소통:")
        for line in renderer.lines:
            self._print(line)
        self.choices = renderer.choices

    def turn(self, line: str) -> bool:
        """Handles one line of user input; returns False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        extra: dict[str, Any] | None = None
        image_urls: list[str] = []
        utterance = line
        if line.isdigit():
            index = int(line)
            if not 1 <= index <= len(self.choices):
                self._print(f"    (선택지 {index}번이 없어요)")
                return True
            choice = self.choices[index - 1]
            utterance, extra = choice.message_text, choice.extra
        elif line.startswith("/photo"):
            image_urls = line.split()[1:]
            utterance = ""
        elif line.startswith("\\"):
            utterance = line[1:]
        self._print(f"나: {utterance or '(사진 ' + str(len(image_urls)) + '장)'}")
        payload = build_skill_payload(
            utterance, self.user_id, client_extra=extra, callback_url=self.client.callback_url, image_urls=image_urls
        )
        try:
            response = self.client.send(payload)
        except SimulatorError as error:
            self.errors += 1
            self._print(f"    (오류) {error}")
            return True
        self._show(response)
        if response.get("useCallback") and self.client.callback_url:
            try:
                self._show(self.client.callbacks.get(timeout=CALLBACK_WAIT_SECONDS))
            except queue.Empty:
                self._print(f"    (콜백이 {CALLBACK_WAIT_SECONDS}초 안에 오지 않았어요)")
        return True


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=env_url("SOTONG_KAKAO_URL", DEFAULT_URL), help="Kakao webhook URL")
    parser.add_argument(
        "--secret", default=env_str("KAKAO_SKILL_SECRET"), help="shared secret (env KAKAO_SKILL_SECRET)"
    )
    parser.add_argument("--secret-header", default=env_str("KAKAO_SECRET_HEADER", DEFAULT_SECRET_HEADER))
    parser.add_argument("--user-id", default="simulator-user", help="Kakao user key to send (one conversation per id)")
    parser.add_argument(
        "--script", type=argparse.FileType("r", encoding="utf-8"), help="replay utterances, one per line"
    )
    parser.add_argument("--callback", action="store_true", help="send a callbackUrl served by the simulator")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for an answer")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if not args.secret:
        print("Set the skill secret: --secret or KAKAO_SKILL_SECRET.", file=sys.stderr)
        return 2
    client = SkillClient(args.url, args.secret, args.secret_header, timeout=args.timeout)
    if args.callback:
        client.start_callback_receiver()
    conversation = Conversation(client, args.user_id, sys.stdout)
    try:
        if args.script:
            for line in args.script:
                if line.strip().startswith("#"):
                    continue
                if not conversation.turn(line):
                    break
            return 1 if conversation.errors else 0
        print(
            f"Sotong KakaoTalk simulator → {args.url} (user {args.user_id}). "
            "Number = tap a choice, /photo URL = send a picture, /quit = leave."
        )
        while True:
            try:
                line = input("> ")
            except EOFError:
                print()
                break
            if not conversation.turn(line):
                break
        return 0
    except KeyboardInterrupt:
        print()
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
