"""The participatory-budget actions on a real action server (`python -m bot.rasa_ext.action_server`), driven by real
rasa-sdk webhook requests in each phase. The phase comes from SOTONG_BUDGET_NOW (one action
server per phase, started on first use); no Rasa model is trained.
"""

from __future__ import annotations

import json
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import func, select

from bot.budget import PhaseKind, load_budget_data
from bot.budget.reports import vote_totals
from bot.budget.tables import Ballot, BudgetProposal, ProjectFeedback, SurveyAnswer
from bot.channels.kakao.response import build_templates
from bot.city import get_city_config
from bot.delivery import DeliverySettings, Dispatcher
from bot.storage.db import create_schema, make_engine, make_session_factory
from tests.budget_helpers import OfficeEndpoint, moment_in
from tests.stack import ROOT, action_headers, action_server_service, base_env, free_port, load_domain

# Starts four action-server processes (one per phase): left out of `make test-fast` (marker `integration`).
pytestmark = pytest.mark.integration

PROPOSE_SLOTS = (
    "budget_title",
    "budget_location",
    "budget_category",
    "budget_description",
    "budget_benefit",
    "budget_cost",
    "budget_consent",
    "budget_phone",
    "budget_confirm",
)


@dataclass
class Result:
    events: list[dict[str, Any]]
    responses: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(response.get("text") or "" for response in self.responses)

    @property
    def slots(self) -> dict[str, Any]:
        return {event["name"]: event["value"] for event in self.events if event["event"] == "slot"}

    @property
    def followup(self) -> str | None:
        return next((event["name"] for event in self.events if event["event"] == "followup"), None)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for response in self.responses for button in response.get("buttons") or []]

    def payloads(self) -> list[str]:
        return [button.get("payload") for button in self.buttons]


def kakao_carousels(result: Result) -> list[dict[str, Any]]:
    """The carousels of the Kakao answer the channel makes of an action's messages."""
    messages = [{key: value for key, value in response.items() if value} for response in result.responses]
    outputs = [output for template in build_templates(messages) for output in template["outputs"]]
    return [output["carousel"] for output in outputs if "carousel" in output]


class ActionServer:
    """A running action server for one phase, its database and the PB office it delivers to."""

    def __init__(self, phase: PhaseKind, workdir: Path, office: OfficeEndpoint, domain: dict[str, Any]):
        data_dir = workdir / "budget"
        shutil.copytree(ROOT / "data" / "budget", data_dir)
        cycle = yaml.safe_load((data_dir / "cycle.yml").read_text(encoding="utf-8"))
        cycle["pb_office"]["send"]["url"] = office.url
        (data_dir / "cycle.yml").write_text(yaml.safe_dump(cycle, allow_unicode=True), encoding="utf-8")
        self.data = load_budget_data(get_city_config(), data_dir)
        self.database_url = f"sqlite:///{workdir / 'sotong.db'}"
        self.domain = domain
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = base_env(
            SOTONG_DATABASE_URL=self.database_url,
            SOTONG_BUDGET_DATA_DIR=str(data_dir),
            SOTONG_BUDGET_NOW=moment_in(self.data, phase).isoformat(),
        )
        self.service = action_server_service(port, env, workdir / "actions.log", f"action server ({phase.value})")

    def start(self) -> ActionServer:
        self.service.start(timeout=120)
        return self

    def stop(self) -> None:
        self.service.stop()

    def sessions(self):
        engine = make_engine(self.database_url)
        create_schema(engine)
        return make_session_factory(engine)

    def run(
        self,
        action: str,
        sender: str,
        text: str = "",
        intent: str | None = None,
        entities: dict[str, Any] | None = None,
        slots: dict[str, Any] | None = None,
        candidates: dict[str, Any] | None = None,
        active_loop: str | None = None,
    ) -> Result:
        """Run `action` as Rasa would after the citizen said `text`; `candidates` are the slots
        Rasa's slot extraction just set (what a form validation action validates)."""
        entity_list = [{"entity": name, "value": value} for name, value in (entities or {}).items()]
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "entities": entity_list,
        }
        events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": latest}]
        events += [{"event": "slot", "name": name, "value": value} for name, value in (candidates or {}).items()]
        every_slot = {name: None for name in self.domain.get("slots") or {}}
        tracker = {
            "sender_id": sender,
            "slots": {**every_slot, **(slots or {}), **(candidates or {})},
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
        response = requests.post(
            f"{self.url}/webhook",
            headers=action_headers(),
            timeout=30,
            json={
                "next_action": action,
                "sender_id": sender,
                "tracker": tracker,
                "domain": self.domain,
                "version": "3.6.2",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return Result(body["events"], body["responses"])

    def validate_form(
        self,
        form: str,
        sender: str,
        requested: str | None,
        text: str = "",
        slots: dict[str, Any] | None = None,
        intent: str | None = None,
    ) -> Result:
        """The form's validation action after the citizen answered `requested` with `text`."""
        slots = {**(slots or {}), "requested_slot": requested}
        candidates = {requested: text} if requested else {}
        return self.run(
            f"validate_{form}", sender, text=text, intent=intent, slots=slots, candidates=candidates, active_loop=form
        )


@pytest.fixture(scope="module")
def office():
    with OfficeEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def servers(tmp_path_factory, office):
    """server(phase): the action server whose clock is inside `phase`. All four start together on
    first use (start-up is mostly waiting for imports) and stop together."""
    domain = load_domain()
    started: dict[PhaseKind, ActionServer] = {}

    def start_all() -> None:
        pending = {
            phase: ActionServer(phase, tmp_path_factory.mktemp(phase.value), office, domain) for phase in PhaseKind
        }
        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            for phase, future in {phase: pool.submit(server.start) for phase, server in pending.items()}.items():
                started[phase] = future.result()

    def server(phase: PhaseKind) -> ActionServer:
        if not started:
            start_all()
        return started[phase]

    yield server
    for running in started.values():
        running.service.process.terminate()
    for running in started.values():
        running.stop()


def citizen() -> str:
    return f"kakao-{uuid.uuid4().hex[:12]}"


def proposal_slots(**changes) -> dict[str, Any]:
    slots = {
        "budget_title": "주엽동 어린이공원 그늘막 설치",
        "budget_location": "일산서구 주엽2동 어린이공원",
        "budget_category": "environment",
        "budget_description": "놀이터에 그늘이 없어서 한여름에는 아이들이 놀 수 없어요.",
        "budget_benefit": "아이들이 여름에도 놀 수 있어요.",
        "budget_cost": 30_000_000,
        "budget_consent": True,
        "budget_phone": "010-1234-5678",
        "budget_confirm": "submit",
    }
    slots.update(changes)
    return slots


# --- proposals phase -----------------------------------------------------------------------------


def test_info_explains_the_phase_and_shows_a_kakao_carousel(servers):
    server = servers(PhaseKind.PROPOSALS)
    result = server.run("action_budget_info", citizen(), intent="budget_info")
    assert server.data.cycle.about in result.text and "지금은 '사업 제안 접수' 기간이에요" in result.text
    assert "/budget_propose" in result.payloads() and "/budget_feedback" in result.payloads()
    # The Kakao channel shows the projects as a carousel of basic cards with a payload button each.
    [carousel] = kakao_carousels(result)
    assert carousel["type"] == "basicCard"
    titles = [item["title"] for item in carousel["items"]]
    assert titles == [project.title for project in server.data.projects.values() if project.status.value == "selected"]
    button = carousel["items"][0]["buttons"][0]
    assert button["label"] == "의견 남기기" and button["extra"]["payload"].startswith(
        '/budget_feedback{"budget_project"'
    )


def test_propose_opens_the_form_while_proposals_are_open(servers):
    result = servers(PhaseKind.PROPOSALS).run("action_budget_propose", citizen(), intent="budget_propose")
    assert result.followup == "budget_propose_form"
    assert all(result.slots[slot] is None for slot in PROPOSE_SLOTS)
    assert "사업 제안을 도와드릴게요" in result.text


def test_the_proposal_form_asks_the_title_first(servers):
    result = servers(PhaseKind.PROPOSALS).validate_form("budget_propose_form", citizen(), requested=None)
    assert result.slots.get("requested_slot") == "budget_title"


@pytest.mark.parametrize(
    "requested, text, value, message",
    [
        ("budget_title", "주엽동 어린이공원 그늘막", "주엽동 어린이공원 그늘막", None),
        ("budget_title", "가", None, "2자 이상"),
        ("budget_location", "주엽2동 강선마을 앞", "주엽2동 강선마을 앞", None),
        ("budget_location", "고양시 전체", "고양시 전체", None),
        ("budget_location", "강남구 역삼동", None, "어느 구나 동인지"),
        ("budget_category", "환경", "environment", None),
        ("budget_category", "교통·보행", "transport", None),
        ("budget_category", "로또", None, "어떤 분야인지"),
        ("budget_description", "짧아요", None, "10자 이상"),
        ("budget_cost", "3천만원", 30_000_000, None),
        ("budget_cost", "1억 2천만 원", 120_000_000, None),
        ("budget_cost", "5천", None, "5,000원"),
        ("budget_cost", "100억", None, "5억 원까지"),
        ("budget_cost", "많이 들어요", None, "금액을 알아듣지 못했어요"),
        ("budget_consent", "동의해요", True, None),
        ("budget_consent", "글쎄요", None, "동의해요"),
        ("budget_phone", "제 번호는 010-1234-5678이에요", "010-1234-5678", None),
        ("budget_phone", "12345", None, "휴대전화 번호를 알아듣지 못했어요"),
        ("budget_confirm", "제출할게요", "submit", None),
    ],
)
def test_each_proposal_answer_is_validated(servers, requested, text, value, message):
    result = servers(PhaseKind.PROPOSALS).validate_form(
        "budget_propose_form", citizen(), requested, text, slots={"budget_consent": True}
    )
    assert result.slots[requested] == value
    if message:
        assert message in result.text
    else:
        assert result.text == ""


def test_declining_consent_skips_the_phone_number(servers):
    filled = proposal_slots(budget_consent=None, budget_phone=None, budget_confirm=None)
    result = servers(PhaseKind.PROPOSALS).validate_form(
        "budget_propose_form", citizen(), "budget_consent", "익명으로 할게요", slots=filled
    )
    assert result.slots["budget_consent"] is False and result.slots["requested_slot"] == "budget_confirm"


def test_cancel_ends_the_form_at_any_step(servers):
    result = servers(PhaseKind.PROPOSALS).validate_form("budget_propose_form", citizen(), "budget_description", "취소")
    assert result.slots == {"budget_description": None, "budget_cancelled": True, "requested_slot": None}


def test_restart_clears_the_answers(servers):
    result = servers(PhaseKind.PROPOSALS).validate_form(
        "budget_propose_form", citizen(), "budget_confirm", "처음부터 다시", slots=proposal_slots(budget_confirm=None)
    )
    assert all(result.slots[slot] is None for slot in PROPOSE_SLOTS)
    assert result.slots["requested_slot"] == "budget_title"


def test_the_confirmation_shows_the_proposal_with_a_masked_phone(servers):
    result = servers(PhaseKind.PROPOSALS).run(
        "action_ask_budget_confirm", citizen(), slots=proposal_slots(budget_confirm=None)
    )
    assert "3,000만 원" in result.text and "010-****-5678" in result.text and "010-1234-5678" not in result.text
    assert [button["title"] for button in result.buttons] == ["제출할게요", "처음부터 다시", "취소"]


def test_a_submitted_proposal_is_stored_and_reaches_the_pb_office(servers, office):
    server = servers(PhaseKind.PROPOSALS)
    sender = citizen()
    result = server.run("action_budget_submit_proposal", sender, slots=proposal_slots())
    assert "제안이 접수됐어요" in result.text and "접수번호: PB-" in result.text
    assert all(result.slots[slot] is None for slot in PROPOSE_SLOTS)
    number = result.text.split("접수번호: ")[1].split("\n")[0]
    sessions = server.sessions()
    with sessions() as session:
        proposal = session.execute(select(BudgetProposal).where(BudgetProposal.sender_id == sender)).scalar_one()
        assert (proposal.number, proposal.district, proposal.dong) == (number, "일산서구", "주엽동")
    assert Dispatcher(sessions, DeliverySettings()).run_once().delivered >= 1
    delivered = [request["json"]["proposal"] for request in office.requests]
    assert any(
        proposal["number"] == number and proposal["contact"]["phone"] == "010-1234-5678" for proposal in delivered
    )


def test_a_cancelled_proposal_is_not_stored(servers):
    server = servers(PhaseKind.PROPOSALS)
    sender = citizen()
    result = server.run("action_budget_submit_proposal", sender, slots=proposal_slots(budget_cancelled=True))
    assert "취소했어요" in result.text
    with server.sessions()() as session:
        assert (
            session.execute(
                select(func.count()).select_from(BudgetProposal).where(BudgetProposal.sender_id == sender)
            ).scalar_one()
            == 0
        )


def test_feedback_menu_offers_projects_and_open_surveys(servers):
    server = servers(PhaseKind.PROPOSALS)
    result = server.run("action_budget_feedback", citizen(), intent="budget_feedback")
    payloads = result.payloads()
    project = server.data.feedback_projects[0]
    assert f'/budget_feedback{{"budget_project":"{project.id}"}}' in payloads
    assert '/budget_feedback{"budget_survey":"pb_awareness"}' in payloads
    assert not any("voting_experience" in payload for payload in payloads)  # open only from voting on


def test_rating_a_project_from_a_tap_to_the_stored_feedback(servers):
    server = servers(PhaseKind.PROPOSALS)
    sender, project = citizen(), server.data.feedback_projects[0]
    tap = server.run(
        "action_budget_feedback", sender, intent="budget_feedback", entities={"budget_project": project.id}
    )
    assert tap.followup == "budget_feedback_form" and tap.slots["budget_project"] == project.id
    ask = server.run("action_ask_budget_rating", sender, slots={"budget_project": project.id})
    assert project.title in ask.text and [b["title"] for b in ask.buttons][:5] == ["5점", "4점", "3점", "2점", "1점"]
    bad = server.validate_form(
        "budget_feedback_form", sender, "budget_rating", "7점", slots={"budget_project": project.id}
    )
    assert bad.slots["budget_rating"] is None and "1점부터 5점까지" in bad.text
    rating = server.validate_form(
        "budget_feedback_form", sender, "budget_rating", "⭐ 4", slots={"budget_project": project.id}
    )
    assert rating.slots["budget_rating"] == 4
    skipped = server.validate_form(
        "budget_feedback_form",
        sender,
        "budget_comment",
        "건너뛰기",
        slots={"budget_project": project.id, "budget_rating": 4},
    )
    assert skipped.slots["budget_comment"] == ""
    saved = server.run(
        "action_budget_submit_feedback",
        sender,
        slots={"budget_project": project.id, "budget_rating": 4, "budget_comment": "그늘이 좋아요"},
    )
    assert "4점" in saved.text and saved.slots["budget_project"] is None
    with server.sessions()() as session:
        feedback = session.execute(select(ProjectFeedback).where(ProjectFeedback.sender_id == sender)).scalar_one()
        assert (feedback.project_id, feedback.rating, feedback.comment) == (project.id, 4, "그늘이 좋아요")


def test_a_survey_runs_question_by_question_and_is_stored(servers):
    server = servers(PhaseKind.PROPOSALS)
    sender, survey = citizen(), server.data.surveys["pb_awareness"]
    start = server.run(
        "action_budget_feedback", sender, intent="budget_feedback", entities={"budget_survey": survey.id}
    )
    assert start.followup == "budget_survey_form" and survey.title in start.text
    slots: dict[str, Any] = {"budget_survey": survey.id, "budget_survey_answers": {}}
    replies = {"choice": "2", "scale": "5점"}
    for number, question in enumerate(survey.questions, start=1):
        ask = server.run("action_ask_budget_survey_answer", sender, slots=slots)
        assert ask.text.startswith(f"({number}/{len(survey.questions)}) {question.text}")
        result = server.validate_form(
            "budget_survey_form", sender, "budget_survey_answer", replies[question.kind.value], slots=slots
        )
        slots["budget_survey_answers"] = result.slots["budget_survey_answers"]
        last = number == len(survey.questions)
        assert (result.slots["budget_survey_answer"] is None) != last
    answers = slots["budget_survey_answers"]
    assert answers[survey.questions[0].id] == survey.questions[0].choices[1] and answers["chat_convenience"] == "5"
    done = server.run("action_budget_submit_survey", sender, slots=slots)
    assert "설문에 참여해 주셔서 고마워요" in done.text
    with server.sessions()() as session:
        assert session.execute(
            select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.sender_id == sender)
        ).scalar_one() == len(survey.questions)


def test_a_survey_outside_its_phases_is_not_started(servers):
    result = servers(PhaseKind.PROPOSALS).run(
        "action_budget_feedback", citizen(), intent="budget_feedback", entities={"budget_survey": "voting_experience"}
    )
    assert result.followup is None and "설문을 받고 있지 않아요" in result.text


def test_voting_before_the_voting_phase_says_when_it_starts(servers):
    server = servers(PhaseKind.PROPOSALS)
    result = server.run("action_budget_vote", citizen(), intent="budget_vote")
    voting = server.data.cycle.phase(PhaseKind.VOTING)
    assert "'주민 투표' 기간은 아직 시작하지 않았어요" in result.text
    assert f"{voting.starts.month}월 {voting.starts.day}일" in result.text


# --- review phase --------------------------------------------------------------------------------


def test_proposals_closed_during_review_says_so_without_opening_the_form(servers):
    server = servers(PhaseKind.REVIEW)
    result = server.run("action_budget_propose", citizen(), intent="budget_propose")
    ends = server.data.cycle.phase(PhaseKind.PROPOSALS).ends
    assert result.followup is None and result.events == []
    assert f"'사업 제안 접수' 기간은 {ends.month}월 {ends.day}일" in result.text and "끝났어요" in result.text
    assert "지금은 '제안 심사' 기간이에요" in result.text


def test_a_proposal_confirmed_after_the_deadline_is_not_stored(servers):
    server = servers(PhaseKind.REVIEW)
    sender = citizen()
    result = server.run("action_budget_submit_proposal", sender, slots=proposal_slots())
    assert "끝났어요" in result.text
    with server.sessions()() as session:
        assert session.execute(select(func.count()).select_from(BudgetProposal)).scalar_one() == 0


# --- voting phase --------------------------------------------------------------------------------


def vote_payload(**entities) -> dict[str, Any]:
    return dict(
        intent="budget_vote", entities=entities, text="/budget_vote" + (json.dumps(entities) if entities else "")
    )


def test_info_during_voting_shows_the_candidates_with_a_vote_button(servers):
    server = servers(PhaseKind.VOTING)
    result = server.run("action_budget_info", citizen(), intent="budget_info")
    assert "/budget_vote" in result.payloads()
    items = [item for carousel in kakao_carousels(result) for item in carousel["items"]]
    assert [item["title"] for item in items] == [project.title for project in server.data.candidates]
    assert items[0]["buttons"][0]["extra"]["payload"] == "/budget_vote"


def test_voting_select_review_submit_and_change_without_double_counting(servers):
    server = servers(PhaseKind.VOTING)
    data, sender = server.data, citizen()
    cheapest = sorted(data.candidates, key=lambda project: project.cost_won)
    first, second, third = (project.id for project in cheapest[:3])

    screen = server.run("action_budget_vote", sender, **vote_payload())
    assert f'/budget_vote{{"budget_vote_project":"{first}"}}' in screen.payloads()
    assert screen.slots["budget_vote_selection"] == [] and "최대 3개까지" in screen.text

    selection: list[str] = []
    for project_id in (first, second):
        step = server.run(
            "action_budget_vote",
            sender,
            slots={"budget_vote_selection": selection},
            **vote_payload(budget_vote_project=project_id),
        )
        selection = step.slots["budget_vote_selection"]
    assert selection == [first, second]
    unselect = server.run(
        "action_budget_vote",
        sender,
        slots={"budget_vote_selection": selection},
        **vote_payload(budget_vote_project=second),
    )
    assert unselect.slots["budget_vote_selection"] == [first]

    review = server.run(
        "action_budget_vote",
        sender,
        slots={"budget_vote_selection": [first, second]},
        **vote_payload(budget_vote_step="review"),
    )
    assert "이렇게 투표할까요?" in review.text and '/budget_vote{"budget_vote_step":"submit"}' in review.payloads()
    back = server.run(
        "action_budget_vote",
        sender,
        slots={"budget_vote_selection": [first, second]},
        **vote_payload(budget_vote_step="choose"),
    )
    assert back.slots["budget_vote_selection"] == [first, second]
    cast = server.run(
        "action_budget_vote",
        sender,
        slots={"budget_vote_selection": [first, second]},
        **vote_payload(budget_vote_step="submit"),
    )
    assert "투표가 완료됐어요" in cast.text and cast.slots["budget_vote_selection"] is None

    again = server.run("action_budget_vote", sender, slots={"budget_vote_selection": [third]}, **vote_payload())
    assert "이미 투표하셨어요" in again.text and again.slots["budget_vote_selection"] == [first, second]
    changed = server.run(
        "action_budget_vote",
        sender,
        slots={"budget_vote_selection": [third]},
        **vote_payload(budget_vote_step="submit"),
    )
    assert "투표를 바꿨어요" in changed.text
    with server.sessions()() as session:
        ballots = session.execute(select(func.count()).select_from(Ballot).where(Ballot.sender_id == sender))
        assert ballots.scalar_one() == 1
        totals = vote_totals(session, data.cycle.id)
    assert totals.get(third, 0) >= 1 and totals.get(first, 0) == 0 and totals.get(second, 0) == 0


def test_a_selection_beyond_the_rules_is_refused_at_the_tap(servers):
    server = servers(PhaseKind.VOTING)
    data = server.data
    limit = data.cycle.voting.max_selections
    cheapest = [project.id for project in sorted(data.candidates, key=lambda project: project.cost_won)]
    dearest = cheapest[::-1]
    over_budget = dearest[:2]
    result = server.run(
        "action_budget_vote",
        citizen(),
        slots={"budget_vote_selection": over_budget},
        **vote_payload(budget_vote_project=dearest[2]),
    )
    total = sum(data.projects[p].cost_won for p in dearest[:3])
    if data.cycle.voting.budget_ceiling_won and total > data.cycle.voting.budget_ceiling_won:
        assert "넘어요" in result.text and result.slots["budget_vote_selection"] == over_budget
    if len(cheapest) > limit:
        full = cheapest[:limit]
        refused = server.run(
            "action_budget_vote",
            citizen(),
            slots={"budget_vote_selection": full},
            **vote_payload(budget_vote_project=cheapest[limit]),
        )
        assert f"최대 {limit}개까지" in refused.text and refused.slots["budget_vote_selection"] == full


def test_cancelling_a_vote_keeps_no_selection(servers):
    result = servers(PhaseKind.VOTING).run(
        "action_budget_vote",
        citizen(),
        slots={"budget_vote_selection": ["dog_park"]},
        **vote_payload(budget_vote_step="cancel"),
    )
    assert "투표를 그만뒀어요" in result.text and result.slots["budget_vote_selection"] is None


def test_proposals_are_closed_during_voting(servers):
    result = servers(PhaseKind.VOTING).run("action_budget_propose", citizen(), intent="budget_propose")
    assert result.followup is None and "'주민 투표' 기간이에요" in result.text


# --- results phase -------------------------------------------------------------------------------


def test_after_voting_ballots_are_closed_and_info_shows_the_results_phase(servers):
    server = servers(PhaseKind.RESULTS)
    vote = server.run(
        "action_budget_vote",
        citizen(),
        slots={"budget_vote_selection": ["dog_park"]},
        **vote_payload(budget_vote_step="submit"),
    )
    ends = server.data.cycle.phase(PhaseKind.VOTING).ends
    assert f"'주민 투표' 기간은 {ends.month}월 {ends.day}일" in vote.text and "끝났어요" in vote.text
    assert vote.slots["budget_vote_selection"] is None
    info = server.run("action_budget_info", citizen(), intent="budget_info")
    assert "지금은 '결과 발표' 기간이에요" in info.text and "/budget_vote" not in info.payloads()
    with server.sessions()() as session:
        assert session.execute(select(func.count()).select_from(Ballot)).scalar_one() == 0
