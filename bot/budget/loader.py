"""Load and validate the participatory-budget files (data/budget/*.yml) into BudgetData.

Every problem is collected and raised together as one BudgetDataError, so a city editor sees all
mistakes in one run of `python -m bot.budget validate`. Districts and 동 are checked against the
city data (data/city/districts.yml); the PB office's send target is read exactly like a
department's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from bot.budget.amounts import parse_krw
from bot.budget.definitions import (
    PHASE_ORDER,
    BudgetCycle,
    BudgetData,
    BudgetOffice,
    Category,
    Phase,
    PhaseKind,
    Project,
    ProjectStatus,
    ProposalRules,
    QuestionKind,
    Survey,
    SurveyQuestion,
    VotingRules,
)
from bot.city.fields import DataFilesError, FieldReader
from bot.city.loader import (  # the city data's own readers: one way to read YAML and send targets
    ID_PATTERN,
    TICKET_PREFIX_PATTERN,
    URL_PATTERN,
    _parse_send_target,
    _read_yaml,
)
from bot.city.models import CityConfig, ConsentText, District
from bot.settings import env_path

DATA_DIR_ENV = "SOTONG_BUDGET_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "budget"

MAX_SELECTIONS_LIMIT = 20
MIN_CHOICES, MAX_CHOICES = 2, 9  # a choice question's answers are quick replies (plus "취소")


class BudgetDataError(DataFilesError):
    """The budget data is invalid; `errors` holds one readable line per problem."""

    kind = "budget"


def default_data_dir() -> Path:
    return env_path(DATA_DIR_ENV, DEFAULT_DATA_DIR)


def load_budget_data(city: CityConfig, data_dir: os.PathLike | None = None) -> BudgetData:
    """Read and validate cycle.yml, projects.yml and surveys.yml; raise BudgetDataError listing
    every problem."""
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    errors: list[str] = []
    warnings: list[str] = []
    cycle = _parse_cycle(_read_yaml(directory / "cycle.yml", errors), city, errors)
    projects = _parse_projects(_read_yaml(directory / "projects.yml", errors), cycle, city, errors)
    surveys = _parse_surveys(_read_yaml(directory / "surveys.yml", errors), errors)
    if cycle is not None and not any(p.status == ProjectStatus.CANDIDATE for p in projects.values()):
        warnings.append("projects.yml: no candidate project: the voting phase would have an empty ballot")
    if errors or cycle is None:
        raise BudgetDataError(errors or ["cycle.yml: could not be read"])
    return BudgetData(
        cycle=cycle,
        projects=projects,
        surveys=surveys,
        timezone=city.profile.timezone,
        city_id=city.profile.id,
        city_name=city.profile.name,
        warnings=tuple(warnings),
    )


# --- small readers -------------------------------------------------------------------------------


def _items(
    document: dict[str, Any], filename: str, list_key: str, kind: str, allowed: set, errors: list[str]
) -> Iterator[tuple[FieldReader, dict[str, Any]]]:
    """A FieldReader per item of a top-level list, named by its id in messages."""
    top = FieldReader(document, filename, errors, allowed={"sample_data", list_key}) if document else None
    for index, raw in enumerate(top.raw_list(list_key) if top else [], start=1):
        declared_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"{filename}: {kind} '{declared_id}'" if declared_id else f"{filename}: {list_key} item {index}"
        yield FieldReader(raw, where, errors, allowed=allowed), raw if isinstance(raw, dict) else {}


def _read_id(fields: FieldReader) -> str | None:
    item_id = fields.text("id")
    if item_id and not ID_PATTERN.match(item_id):
        fields.error(f"id '{item_id}' must be lower-case letters, digits and '_'")
        return None
    return item_id or None


def _read_day(fields: FieldReader, raw: dict[str, Any], key: str, required: bool = True) -> date | None:
    value = raw.get(key)
    if value is None:
        if required:
            fields.error(f"'{key}' is missing")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        fields.error(f"'{key}' must be a date like 2026-05-01, got {value!r}")
        return None


def _read_amount(fields: FieldReader, raw: dict[str, Any], key: str, required: bool = True) -> int | None:
    """An amount in won written as a number (500000000) or in Korean ("5억원")."""
    value = raw.get(key)
    if value is None:
        if required:
            fields.error(f"'{key}' is missing")
        return None
    amount = value if isinstance(value, int) and not isinstance(value, bool) else parse_krw(str(value))
    if amount is None or amount <= 0:
        fields.error(f"'{key}' must be a positive amount like 30000000 or \"3천만원\", got {value!r}")
        return None
    return amount


def _mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


# --- cycle.yml -----------------------------------------------------------------------------------

CYCLE_SECTIONS = {"sample_data", "cycle", "phases", "voting", "proposals", "categories", "pb_office", "consent"}


def _parse_cycle(document: dict[str, Any], city: CityConfig, errors: list[str]) -> BudgetCycle | None:
    if not document:
        return None
    top = FieldReader(document, "cycle.yml", errors, allowed=CYCLE_SECTIONS)
    about = top.nested("cycle", allowed={"id", "name", "number_prefix", "info_url", "about"})
    cycle_id = _read_id(about)
    prefix = about.text("number_prefix")
    if prefix and not TICKET_PREFIX_PATTERN.match(prefix):
        about.error(f"number_prefix '{prefix}' must be 2 to 5 capital letters")
    elif prefix and prefix == city.profile.ticket_prefix:
        about.error(f"number_prefix '{prefix}' must differ from the city's ticket_prefix")
    info_url = about.text("info_url", required=False)
    if info_url and not URL_PATTERN.match(info_url):
        about.error(f"info_url '{info_url}' is not an http(s) URL")

    phases = _parse_phases(top, errors)
    voting = _parse_voting(top, document)
    proposals = _parse_proposal_rules(top, document)
    categories = _parse_categories(document, errors)
    office = _parse_office(top)
    consent_fields = top.nested("consent", allowed={"version", "purpose", "items", "retention"})
    consent = ConsentText(
        version=consent_fields.text("version"),
        purpose=consent_fields.text("purpose"),
        items=consent_fields.text("items"),
        retention=consent_fields.text("retention"),
    )
    parts = (cycle_id, prefix, phases, voting, proposals, categories, office, all(vars(consent).values()))
    if not all(parts):
        return None
    return BudgetCycle(
        id=cycle_id,
        name=about.text("name"),
        about=" ".join(about.text("about").split()),
        info_url=info_url,
        number_prefix=prefix,
        phases=phases,
        voting=voting,
        proposals=proposals,
        categories=categories,
        office=office,
        consent=consent,
    )


def _parse_phases(top: FieldReader, errors: list[str]) -> tuple[Phase, ...]:
    raw_phases = top.raw_list("phases")
    phases = [
        phase
        for phase in (_parse_phase(raw, index, errors) for index, raw in enumerate(raw_phases, 1))
        if phase is not None
    ]
    if len(phases) != len(raw_phases):
        return ()  # each broken phase is reported already
    kinds = tuple(phase.kind for phase in phases)
    if kinds != PHASE_ORDER:
        top.error(
            f"phases must be exactly {', '.join(k.value for k in PHASE_ORDER)}, in this order "
            f"(got {', '.join(k.value for k in kinds) or 'none'})"
        )
        return ()
    overlapping = False
    for before, after in zip(phases, phases[1:]):
        if before.ends is None or after.starts <= before.ends:
            top.error(
                f"phase '{after.kind.value}' starts on {after.starts}, before phase "
                f"'{before.kind.value}' ends ({before.ends or 'never'})"
            )
            overlapping = True
    return () if overlapping else tuple(phases)


def _parse_phase(raw: Any, index: int, errors: list[str]) -> Phase | None:
    kind_name = raw.get("phase") if isinstance(raw, dict) else None
    fields = FieldReader(
        raw,
        f"cycle.yml: phase '{kind_name or index}'",
        errors,
        allowed={"phase", "label", "starts", "ends", "description"},
    )
    raw = raw if isinstance(raw, dict) else {}
    try:
        kind = PhaseKind(fields.text("phase"))
    except ValueError:
        fields.error(f"'phase' must be one of: {', '.join(kind.value for kind in PHASE_ORDER)}")
        return None
    starts = _read_day(fields, raw, "starts")
    ends = _read_day(fields, raw, "ends", required=kind != PhaseKind.RESULTS)
    label = fields.text("label")
    if starts and ends and ends < starts:
        fields.error(f"ends ({ends}) is before starts ({starts})")
        return None
    if not (starts and label) or (ends is None and kind != PhaseKind.RESULTS):
        return None
    return Phase(
        kind=kind,
        label=label,
        starts=starts,
        ends=ends,
        description=" ".join(fields.text("description", required=False).split()),
    )


def _parse_voting(top: FieldReader, document: dict[str, Any]) -> VotingRules | None:
    fields = top.nested("voting", allowed={"max_selections", "budget_ceiling"})
    max_selections = fields.integer("max_selections", maximum=MAX_SELECTIONS_LIMIT)
    ceiling = _read_amount(fields, _mapping(document, "voting"), "budget_ceiling", required=False)
    if max_selections is None:
        return None
    return VotingRules(max_selections=max_selections, budget_ceiling_won=ceiling)


def _parse_proposal_rules(top: FieldReader, document: dict[str, Any]) -> ProposalRules | None:
    fields = top.nested("proposals", allowed={"min_cost", "max_cost"})
    raw = _mapping(document, "proposals")
    min_cost, max_cost = _read_amount(fields, raw, "min_cost"), _read_amount(fields, raw, "max_cost")
    if min_cost is None or max_cost is None:
        return None
    if min_cost > max_cost:
        fields.error("min_cost is larger than max_cost")
        return None
    return ProposalRules(min_cost_won=min_cost, max_cost_won=max_cost)


def _parse_categories(document: dict[str, Any], errors: list[str]) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    top = FieldReader({"categories": document.get("categories")}, "cycle.yml", errors, allowed={"categories"})
    for index, raw in enumerate(top.raw_list("categories"), start=1):
        fields = FieldReader(raw, f"cycle.yml: category {index}", errors, allowed={"id", "label"})
        category_id, label = _read_id(fields), fields.text("label")
        if category_id in categories:
            fields.error(f"duplicate category id '{category_id}'")
        elif category_id and label:
            categories[category_id] = Category(id=category_id, label=label)
    return categories


def _parse_office(top: FieldReader) -> BudgetOffice | None:
    fields = top.nested("pb_office", allowed={"id", "name", "phone", "send"})
    office_id, name, phone = _read_id(fields), fields.text("name"), fields.text("phone")
    send = _parse_send_target(fields)
    if not (office_id and name and phone and send):
        return None
    return BudgetOffice(id=office_id, name=name, phone=phone, send=send)


# --- projects.yml --------------------------------------------------------------------------------

PROJECT_FIELDS = {
    "id",
    "title",
    "status",
    "district",
    "dong",
    "category",
    "cost",
    "description",
    "image_url",
    "feedback",
}


def _parse_projects(
    document: dict[str, Any], cycle: BudgetCycle | None, city: CityConfig, errors: list[str]
) -> dict[str, Project]:
    projects: dict[str, Project] = {}
    districts = _district_index(city.districts)
    for fields, raw in _items(document, "projects.yml", "projects", "project", PROJECT_FIELDS, errors):
        project = _parse_project(fields, raw, cycle, districts)
        if project is None:
            continue
        if project.id in projects:
            fields.error("duplicate project id")
            continue
        projects[project.id] = project
    return projects


def _district_index(districts: tuple[District, ...]) -> dict[str, District]:
    """Every name and alias of a district → the district."""
    return {name.replace(" ", ""): district for district in districts for name in (district.name, *district.aliases)}


def _parse_project(
    fields: FieldReader, raw: dict[str, Any], cycle: BudgetCycle | None, districts: dict[str, District]
) -> Project | None:
    project_id, title, description = _read_id(fields), fields.text("title"), fields.text("description")
    try:
        status = ProjectStatus(fields.text("status"))
    except ValueError:
        fields.error(f"'status' must be one of: {', '.join(s.value for s in ProjectStatus)}")
        status = None
    category = fields.text("category")
    if cycle is not None and category and category not in cycle.categories:
        fields.error(f"unknown category '{category}' (see cycle.yml categories)")
    cost = _read_amount(fields, raw, "cost")
    ceiling = cycle.voting.budget_ceiling_won if cycle else None
    if status == ProjectStatus.CANDIDATE and cost and ceiling and cost > ceiling:
        fields.error(f"a candidate cannot cost more than the ballot's budget_ceiling ({ceiling} won)")
    district, dong = _read_place(fields, districts)
    image_url = fields.text("image_url", required=False) or None
    if image_url and not URL_PATTERN.match(image_url):
        fields.error(f"image_url '{image_url}' is not an http(s) URL")
    if not (project_id and title and description and status and category and cost):
        return None
    return Project(
        id=project_id,
        title=title,
        category_id=category,
        cost_won=cost,
        description=" ".join(description.split()),
        status=status,
        district=district,
        dong=dong,
        image_url=image_url,
        feedback_open=fields.flag("feedback", default=True),
    )


def _read_place(fields: FieldReader, districts: dict[str, District]) -> tuple[str | None, str | None]:
    district_name = fields.text("district", required=False)
    dong = fields.text("dong", required=False) or None
    district = districts.get(district_name.replace(" ", "")) if district_name else None
    if district_name and district is None:
        fields.error(f"unknown district '{district_name}' (see data/city/districts.yml)")
        return None, None
    if dong and district is None:
        district = next((d for d in districts.values() if dong in d.dongs), None)
        if district is None:
            fields.error(f"unknown dong '{dong}' (see data/city/districts.yml)")
            return None, None
    if dong and dong not in district.dongs:
        fields.error(f"dong '{dong}' is not in {district.name}")
        return None, None
    return (district.name if district else None), dong


# --- surveys.yml ---------------------------------------------------------------------------------


def _parse_surveys(document: dict[str, Any], errors: list[str]) -> dict[str, Survey]:
    surveys: dict[str, Survey] = {}
    allowed = {"id", "title", "intro", "open_during", "questions"}
    for fields, _raw in _items(document, "surveys.yml", "surveys", "survey", allowed, errors):
        survey_id, title, intro = _read_id(fields), fields.text("title"), fields.text("intro")
        open_during = []
        for name in fields.texts("open_during"):
            try:
                open_during.append(PhaseKind(name))
            except ValueError:
                fields.error(f"unknown phase '{name}' in open_during")
        questions = _parse_questions(fields, errors)
        if survey_id in surveys:
            fields.error("duplicate survey id")
        elif survey_id and title and intro and questions:
            surveys[survey_id] = Survey(
                id=survey_id,
                title=title,
                intro=" ".join(intro.split()),
                questions=questions,
                open_during=tuple(open_during),
            )
    return surveys


def _parse_questions(survey: FieldReader, errors: list[str]) -> tuple[SurveyQuestion, ...]:
    questions: list[SurveyQuestion] = []
    for index, raw in enumerate(survey.raw_list("questions"), start=1):
        fields = FieldReader(
            raw, f"{survey.where}, question {index}", errors, allowed={"id", "text", "kind", "choices"}
        )
        question_id, text = _read_id(fields), fields.text("text")
        try:
            kind = QuestionKind(fields.text("kind"))
        except ValueError:
            fields.error(f"'kind' must be one of: {', '.join(k.value for k in QuestionKind)}")
            continue
        choices = fields.texts("choices", required=kind == QuestionKind.CHOICE)
        if kind == QuestionKind.CHOICE and choices and not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
            fields.error(f"a choice question needs {MIN_CHOICES} to {MAX_CHOICES} choices, got {len(choices)}")
            continue
        if kind == QuestionKind.SCALE and choices:
            fields.error("a scale question has no choices (it is answered 1 to 5)")
            continue
        if any(q.id == question_id for q in questions):
            fields.error(f"duplicate question id '{question_id}'")
        elif question_id and text:
            questions.append(SurveyQuestion(id=question_id, text=text, kind=kind, choices=choices))
    return tuple(questions)
