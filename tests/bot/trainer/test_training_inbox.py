"""Training inbox units: signals found in Rasa's (masked) event stream, masking of what is stored,
grouping of near-duplicates, the YAML a label becomes, and the label lint (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.tickets.store import open_database
from bot.trainer import inbox
from bot.trainer.signals import SignalDetector, SignalDraft, SignalKind, TrainingSignal, store_signals

SENDER = "kakao-user-1"


def user(text, intent, confidence, ranking=None, sender=SENDER):
    ranking = ranking or [(intent, confidence)]
    return {
        "sender_id": sender,
        "event": "user",
        "text": text,
        "metadata": {"model_id": "m-1"},
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        },
    }


def bot(text, sender=SENDER):
    return {"sender_id": sender, "event": "bot", "text": text}


def run(events):
    detector = SignalDetector()
    return [draft for event in events for draft in detector.observe(event)]


def test_fallback_and_low_confidence_messages_are_signals_with_top3():
    drafts = run(
        [
            user(
                "블라블라 뭐라는 거야",
                "nlu_fallback",
                0.45,
                [("nlu_fallback", 0.45), ("smalltalk", 0.3), ("greet", 0.2), ("deny", 0.1), ("thank", 0.05)],
            ),
            bot("혹시 이런 걸 찾으셨나요?"),
            user("주차장 요금 궁금", "civic_info", 0.41, [("civic_info", 0.41), ("report_complaint", 0.2)]),
            user("분리수거 요일 알려 주세요", "civic_info", 0.93),
        ]
    )
    assert [d.kind for d in drafts] == [SignalKind.FALLBACK, SignalKind.LOW_CONFIDENCE]
    assert drafts[0].predicted_intent == "smalltalk" and drafts[0].model_id == "m-1"
    assert [name for name, _ in drafts[0].top3] == ["smalltalk", "greet", "deny"]
    assert drafts[1].context[-1] == {"who": "bot", "text": "혹시 이런 걸 찾으셨나요?"}


def test_denial_after_an_answer_marks_the_message_before_it():
    drafts = run(
        [
            user("가로등 고장 어디에 말해요", "civic_info", 0.9),
            bot("가로등 안내예요."),
            user("아니에요 그게 아니라 신고하고 싶어요", "report_complaint", 0.8),
        ]
    )
    assert [(d.kind, d.text) for d in drafts] == [(SignalKind.DENIED, "가로등 고장 어디에 말해요")]


def test_a_tap_other_than_the_top_intent_is_a_clarification_signal():
    ranking = [("civic_info", 0.5), ("report_complaint", 0.4)]
    tap = {
        "sender_id": SENDER,
        "event": "user",
        "text": '/report_complaint{"complaint_category": "illegal_parking"}',
        "parse_data": {"intent": {"name": "report_complaint", "confidence": 1.0}},
    }
    drafts = run([user("주차 단속", "civic_info", 0.5, ranking), bot("신고할까요, 안내할까요?"), tap])
    assert [(d.kind, d.hint, d.predicted_intent) for d in drafts] == [
        (SignalKind.CLARIFIED, "report_complaint", "civic_info")
    ]


def test_a_budget_form_left_half_way_is_abandoned():
    loop = {"sender_id": SENDER, "event": "active_loop", "name": "budget_propose_form"}
    drafts = run(
        [
            user("공원에 운동기구 제안할래요", "budget_propose", 0.9),
            loop,
            bot("제목을 알려 주세요"),
            {"sender_id": SENDER, "event": "action", "name": "action_deactivate_loop"},
        ]
    )
    assert [(d.kind, d.hint) for d in drafts] == [(SignalKind.ABANDONED, "budget_propose_form")]
    finished = run(
        [
            user("제안할래요", "budget_propose", 0.9),
            loop,
            {"sender_id": SENDER, "event": "active_loop", "name": None},
            {"sender_id": SENDER, "event": "session_started"},
        ]
    )
    assert finished == []


def test_stored_signals_are_masked(tmp_path: Path):
    sessions = open_database(f"sqlite:///{tmp_path / 'sotong.db'}")
    store_signals(
        sessions,
        [
            SignalDraft(
                kind=SignalKind.FALLBACK,
                text="연락은 010-1234-5678 이나 hong.gildong@example.com 으로, 900101-1234567",
                context=[{"who": "user", "text": "제 번호 01098765432"}],
            )
        ],
    )
    with sessions() as session:
        row = session.query(TrainingSignal).one()
    assert "1234-5678" not in row.text and "010-****-5678" in row.text
    assert "hong.gildong@" not in row.text and "h***********@example.com" in row.text
    assert "1234567" not in row.text and "98765432" not in row.context


def signal(id_, text):
    from bot.storage.db import utc_now

    return TrainingSignal(
        id=id_, text=text, kind=SignalKind.FALLBACK, created_at=utc_now(), status="new", top3="[]", context="[]"
    )


def test_near_duplicates_group_together_largest_first():
    groups = inbox.group_signals(
        [
            signal(1, "분리수거 요일 알려줘"),
            signal(2, "우리 집 앞 하수구에서 냄새가 너무 나요 010-****-5678"),
            signal(3, "우리집 앞 하수구 냄새 너무 나요!!"),
            signal(4, "하수구 냄새가 너무 나요 우리 집 앞"),
            signal(5, "여권 재발급 어디서 해요"),
        ]
    )
    assert [[m.id for m in g.members] for g in groups][0] == [2, 3, 4]
    assert sorted(g.size for g in groups) == [1, 1, 3]
    assert inbox.similarity("분리수거 요일 알려줘", "여권 재발급 어디서 해요") == 0.0


def test_example_markup_reads_back_as_rasa_yaml():
    text = "호수로 포트홀 신고요"
    block = inbox.nlu_block(
        "report_complaint",
        inbox.example_markup(
            text, [inbox.EntitySpan("location", 0, 3), inbox.EntitySpan("complaint_category", 4, 7, "road_damage")]
        ),
    )
    message = RasaYAMLReader().reads('version: "3.1"\nnlu:\n' + block).intent_examples[0]
    assert message.get("text") == text
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [
        ("location", "호수로"),
        ("complaint_category", "road_damage"),
    ]
    with pytest.raises(inbox.LabelRefused):
        inbox.example_markup(text, [inbox.EntitySpan("location", 0, 5), inbox.EntitySpan("location", 2, 7)])


def test_retention_deletes_old_signals_only(tmp_path: Path):
    from datetime import timedelta

    from bot.storage.db import make_engine, utc_now
    from bot.trainer.signals import delete_old_signals

    url = f"sqlite:///{tmp_path / 'sotong.db'}"
    sessions = open_database(url)
    old, new = (
        SignalDraft(kind=SignalKind.FALLBACK, text="오래된 메시지"),
        SignalDraft(kind=SignalKind.FALLBACK, text="새 메시지"),
    )
    with sessions() as session, session.begin():
        session.add_all([old.row(utc_now() - timedelta(days=100)), new.row(utc_now() - timedelta(days=10))])
    engine = make_engine(url)
    assert delete_old_signals(engine, 90, dry_run=True) == 1
    assert delete_old_signals(engine, 90) == 1
    with sessions() as session:
        assert [row.text for row in session.query(TrainingSignal).all()] == ["새 메시지"]


def test_a_transfer_in_the_console_is_a_correction_signal(tmp_path: Path):
    from tests.bot.staff.test_staff_tickets import desk, member
    from tests.staff_support import file_pothole, seed_accounts, sessions_for, sqlite_url

    db = sqlite_url(tmp_path)
    seed_accounts(db)
    number = file_pothole(db, description="신호등 옆 도로가 파였어요 010-1111-2222")
    desk(db).transfer(member(db), number, "traffic_policy", "신호등 주변 도로라 교통정책과 소관이에요.")
    with sessions_for(db)() as session:
        (row,) = session.query(TrainingSignal).all()
    assert (row.kind, row.predicted_intent, row.hint) == (
        SignalKind.STAFF_CORRECTION,
        "report_complaint:road_damage",
        "department:traffic_policy",
    )
    assert "1111-2222" not in row.text and "010-****-2222" in row.text
