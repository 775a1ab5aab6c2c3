"""Rasa actions of participatory-budget feedback: rate a project 1-5 and comment on it
(budget_feedback_form), or answer a survey from data/budget/surveys.yml (budget_survey_form).

action_budget_feedback reads the menu tap: `/budget_feedback{"budget_project": "<id>"}` opens the
rating form for that project, `/budget_feedback{"budget_survey": "<id>"}` the survey; without
either it shows the menu of projects and open surveys. The survey form asks budget_survey_answer
once per question (the answers so far are in budget_survey_answers).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import budget_messages as messages
from actions.budget import (
    CANCELLED,
    REQUESTED_SLOT,
    BudgetAsk,
    BudgetFormValidation,
    cleared,
    in_thread,
    tapped,
    utter,
)
from actions.budget_answers import choice_in, is_skip, rating_in
from bot.budget import BudgetStore, QuestionKind, Survey, SurveyQuestion, get_budget_data, get_budget_store
from bot.budget.store import MAX_COMMENT_CHARS
from bot.replies import Reply

logger = logging.getLogger(__name__)

PROJECT, SURVEY = messages.PROJECT, messages.SURVEY
RATING, COMMENT = "budget_rating", "budget_comment"
SURVEY_ANSWER, SURVEY_ANSWERS = "budget_survey_answer", "budget_survey_answers"
FEEDBACK_FORM, SURVEY_FORM = "budget_feedback_form", "budget_survey_form"


def feedback_menu(store: BudgetStore) -> Reply:
    data = store.data
    surveys = [survey for survey in data.surveys.values() if store.survey_is_open(survey.id)]
    return messages.feedback_menu(data.feedback_projects, surveys)


def next_question(survey: Survey, answers: dict[str, str]) -> SurveyQuestion | None:
    return next((question for question in survey.questions if question.id not in answers), None)


class ActionBudgetFeedback(Action):
    def name(self) -> str:
        return "action_budget_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        store = get_budget_store()
        survey_id, project_id = tapped(tracker, SURVEY), tapped(tracker, PROJECT)
        if survey_id:
            if not store.survey_is_open(str(survey_id)):
                dispatcher.utter_message(text=messages.SURVEY_NOT_OPEN)
                utter(dispatcher, feedback_menu(store))
                return [SlotSet(SURVEY, None)]
            dispatcher.utter_message(text=messages.survey_intro(store.data.surveys[survey_id]))
            return [
                SlotSet(SURVEY, survey_id),
                SlotSet(SURVEY_ANSWERS, {}),
                SlotSet(SURVEY_ANSWER, None),
                SlotSet(CANCELLED, None),
                FollowupAction(SURVEY_FORM),
            ]
        if project_id:
            project = store.data.projects.get(str(project_id))
            if project is None or not project.feedback_open:
                dispatcher.utter_message(text=messages.PROJECT_NOT_AVAILABLE)
                utter(dispatcher, feedback_menu(store))
                return [SlotSet(PROJECT, None)]
            return [
                SlotSet(PROJECT, project.id),
                SlotSet(RATING, None),
                SlotSet(COMMENT, None),
                SlotSet(CANCELLED, None),
                FollowupAction(FEEDBACK_FORM),
            ]
        utter(dispatcher, feedback_menu(store))
        return []


# --- rating and comment --------------------------------------------------------------------------


class ValidateBudgetFeedbackForm(BudgetFormValidation):
    def name(self) -> str:
        return "validate_budget_feedback_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if tracker.get_slot(CANCELLED) else domain_slots

    async def validate_budget_rating(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        rating = value if isinstance(value, int) and not isinstance(value, bool) else rating_in(str(value or ""))
        if rating is None or not 1 <= rating <= 5:
            dispatcher.utter_message(text=messages.RATING_NOT_UNDERSTOOD)
            return {RATING: None}
        return {RATING: rating}

    async def validate_budget_comment(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if is_skip(str(value or "")):
            return {COMMENT: ""}
        return {COMMENT: self.checked_text(value, 1, MAX_COMMENT_CHARS, dispatcher)}


class ActionAskBudgetComment(BudgetAsk):
    slot = COMMENT

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ASK_COMMENT


class ActionAskBudgetRating(Action):
    def name(self) -> str:
        return "action_ask_budget_rating"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        project = get_budget_data().projects.get(tracker.get_slot(PROJECT) or "")
        if project is None:  # the project left the data while the citizen was rating it
            utter(dispatcher, feedback_menu(get_budget_store()))
            return [SlotSet(CANCELLED, True), SlotSet(REQUESTED_SLOT, None)]
        utter(dispatcher, messages.ask_rating(project))
        return []


class ActionBudgetSubmitFeedback(Action):
    def name(self) -> str:
        return "action_budget_submit_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reset = cleared(PROJECT, RATING, COMMENT, CANCELLED, REQUESTED_SLOT)
        store = get_budget_store()
        project = store.data.projects.get(tracker.get_slot(PROJECT) or "")
        rating = tracker.get_slot(RATING)
        if tracker.get_slot(CANCELLED) or project is None or rating is None:
            dispatcher.utter_message(text=messages.FEEDBACK_CANCELLED)
            return reset
        comment = tracker.get_slot(COMMENT) or None
        try:
            replaced = await in_thread(store.rate_project, tracker.sender_id, project.id, int(rating), comment)
        except Exception:
            logger.exception("Feedback on project %s could not be stored", project.id)
            dispatcher.utter_message(text=messages.SAVE_FAILED)
        else:
            dispatcher.utter_message(text=messages.feedback_saved(project, int(rating), comment, replaced))
        return reset


# --- surveys -------------------------------------------------------------------------------------


def survey_answer(question: SurveyQuestion, text: str) -> str | None:
    if question.kind == QuestionKind.SCALE:
        rating = rating_in(text)
        return str(rating) if rating is not None else None
    return choice_in(text, question.choices)


class ValidateBudgetSurveyForm(BudgetFormValidation):
    def name(self) -> str:
        return "validate_budget_survey_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if tracker.get_slot(CANCELLED) else domain_slots

    async def validate_budget_survey_answer(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        survey = get_budget_data().surveys.get(tracker.get_slot(SURVEY) or "")
        answers = dict(tracker.get_slot(SURVEY_ANSWERS) or {})
        question = next_question(survey, answers) if survey else None
        if question is None:  # nothing left to ask (or the survey left the data): finish
            return {SURVEY_ANSWER: str(value), SURVEY_ANSWERS: answers}
        answer = survey_answer(question, str(value or ""))
        if answer is None:
            dispatcher.utter_message(text=messages.survey_answer_not_understood(question))
            return {SURVEY_ANSWER: None}
        answers[question.id] = answer
        more = next_question(survey, answers) is not None
        return {SURVEY_ANSWER: None if more else answer, SURVEY_ANSWERS: answers}


class ActionAskBudgetSurveyAnswer(Action):
    def name(self) -> str:
        return "action_ask_budget_survey_answer"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        survey = get_budget_data().surveys.get(tracker.get_slot(SURVEY) or "")
        answers = tracker.get_slot(SURVEY_ANSWERS) or {}
        question = next_question(survey, answers) if survey else None
        if question is None:
            return [SlotSet(SURVEY_ANSWER, "done"), SlotSet(REQUESTED_SLOT, None)]
        number = survey.questions.index(question) + 1
        utter(dispatcher, messages.ask_survey_question(survey, question, number))
        return []


class ActionBudgetSubmitSurvey(Action):
    def name(self) -> str:
        return "action_budget_submit_survey"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reset = cleared(SURVEY, SURVEY_ANSWER, SURVEY_ANSWERS, CANCELLED, REQUESTED_SLOT)
        survey_id = tracker.get_slot(SURVEY)
        answers = tracker.get_slot(SURVEY_ANSWERS) or {}
        if tracker.get_slot(CANCELLED) or not survey_id or not answers:
            dispatcher.utter_message(text=messages.SURVEY_CANCELLED)
            return reset
        try:
            await in_thread(get_budget_store().save_survey_answers, tracker.sender_id, survey_id, answers)
        except Exception:
            logger.exception("Answers to survey %s could not be stored", survey_id)
            dispatcher.utter_message(text=messages.SAVE_FAILED)
        else:
            dispatcher.utter_message(text=messages.SURVEY_DONE)
        return reset
