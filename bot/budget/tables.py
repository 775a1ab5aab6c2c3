"""Tables of participatory budgeting, in the same database (and metadata) as the tickets.

- budget_proposals: citizens' proposals, numbered PB-2026-0001, routed to the PB office.
- budget_project_feedback: one rating (1-5) and comment per citizen and project; a new rating
  replaces the citizen's earlier one, so averages cannot be stuffed.
- budget_survey_answers: one answer per citizen and survey question (a new answer replaces it).
- budget_ballots / budget_ballot_selections: one ballot per citizen and cycle (unique
  constraint), holding the selected projects; changing a ballot replaces its selections, so a
  citizen's vote is never counted twice.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.storage.db import Base, UtcDateTime, utc_now

SENDER_ID_LENGTH = 128  # Kakao user keys, as in the tickets table


class BudgetProposal(Base):
    __tablename__ = "budget_proposals"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)  # PB-2026-0001
    cycle_id = Column(String(60), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    category = Column(String(60), nullable=False)
    location_text = Column(Text, nullable=False, default="")
    district = Column(String(20))  # None: city-wide
    dong = Column(String(20))
    description = Column(Text, nullable=False)
    expected_benefit = Column(Text, nullable=False)
    estimated_cost_won = Column(BigInteger, nullable=False)
    contact_phone = Column(String(255))  # sealed (bot.privacy.contacts.seal_phone); None: anonymous
    consent_given = Column(Boolean, nullable=False, default=False)
    consent_text_version = Column(String(20))
    consent_at = Column(UtcDateTime)
    sender_id = Column(String(SENDER_ID_LENGTH), nullable=False, index=True)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)


class ProjectFeedback(Base):
    __tablename__ = "budget_project_feedback"

    id = Column(Integer, primary_key=True)
    cycle_id = Column(String(60), nullable=False)
    project_id = Column(String(60), nullable=False, index=True)
    sender_id = Column(String(SENDER_ID_LENGTH), nullable=False)
    rating = Column(SmallInteger, nullable=False)
    comment = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    updated_at = Column(UtcDateTime, nullable=False, default=utc_now)

    __table_args__ = (
        UniqueConstraint("cycle_id", "project_id", "sender_id", name="uq_budget_feedback_per_citizen"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="ck_budget_feedback_rating"),
    )


class SurveyAnswer(Base):
    __tablename__ = "budget_survey_answers"

    id = Column(Integer, primary_key=True)
    survey_id = Column(String(60), nullable=False, index=True)
    question_id = Column(String(60), nullable=False)
    sender_id = Column(String(SENDER_ID_LENGTH), nullable=False)
    answer = Column(String(200), nullable=False)
    answered_at = Column(UtcDateTime, nullable=False, default=utc_now)

    __table_args__ = (UniqueConstraint("survey_id", "question_id", "sender_id", name="uq_budget_survey_answer"),)


class Ballot(Base):
    __tablename__ = "budget_ballots"

    id = Column(Integer, primary_key=True)
    cycle_id = Column(String(60), nullable=False)
    sender_id = Column(String(SENDER_ID_LENGTH), nullable=False)
    created_at = Column(UtcDateTime, nullable=False, default=utc_now)
    updated_at = Column(UtcDateTime, nullable=False, default=utc_now)
    changes = Column(Integer, nullable=False, default=0)  # how often the citizen changed it

    selections = relationship(
        "BallotSelection", back_populates="ballot", cascade="all, delete-orphan", order_by="BallotSelection.position"
    )

    __table_args__ = (UniqueConstraint("cycle_id", "sender_id", name="uq_budget_ballot_per_citizen"),)


class BallotSelection(Base):
    __tablename__ = "budget_ballot_selections"

    ballot_id = Column(Integer, ForeignKey("budget_ballots.id", ondelete="CASCADE"), primary_key=True)
    project_id = Column(String(60), primary_key=True)  # a project appears at most once per ballot
    position = Column(SmallInteger, nullable=False)  # the order the citizen chose them in

    ballot = relationship("Ballot", back_populates="selections")
