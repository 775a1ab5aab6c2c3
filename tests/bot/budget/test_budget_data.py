"""Loading and validating data/budget/: the sample data is valid, and every mistake a city editor
can make is reported with the file and item it is in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.budget import BudgetDataError, PhaseKind, ProjectStatus, load_budget_data
from bot.budget.__main__ import main
from bot.city import get_city_config

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "budget"
RASA_TRAINING_KEYS = ("nlu:", "responses:", "stories:", "rules:")


def test_sample_data_is_valid_and_marked_as_sample():
    data = load_budget_data(get_city_config(), DATA_DIR)
    assert [phase.kind for phase in data.cycle.phases] == list(PhaseKind)
    assert data.candidates and data.projects_with_status(ProjectStatus.SELECTED) and data.surveys
    assert data.timezone == "Asia/Seoul"
    for path in DATA_DIR.glob("*.yml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["sample_data"] is True, path.name


def test_budget_files_are_not_mistaken_for_rasa_training_data():
    """`rasa train --data data` reads every YAML file under data/ that has one of these keys on
    any line (rasa.shared.utils.io.is_key_in_yaml)."""
    for path in DATA_DIR.glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not line.lstrip().startswith(RASA_TRAINING_KEYS), f"{path.name}: {line}"


def test_validate_command_accepts_the_sample_data(capsys):
    assert main(["validate"]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.fixture
def editable(tmp_path):
    """A copy of data/budget/ and a function that edits one of its files."""
    directory = tmp_path / "budget"
    shutil.copytree(DATA_DIR, directory)

    def edit(filename, change):
        path = directory / filename
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    return directory, edit


def errors_of(directory) -> str:
    with pytest.raises(BudgetDataError) as invalid:
        load_budget_data(get_city_config(), directory)
    return "\n".join(invalid.value.errors)


def phases(document):
    return {phase["phase"]: phase for phase in document["phases"]}


@pytest.mark.parametrize(
    "filename, change, expected",
    [
        ("cycle.yml", lambda d: d["phases"].reverse(), "phases must be exactly proposals, review, voting, results"),
        (
            "cycle.yml",
            lambda d: phases(d)["voting"].update(starts=phases(d)["review"]["starts"]),
            "phase 'voting' starts on",
        ),
        ("cycle.yml", lambda d: phases(d)["review"].update(ends="2020-01-01"), "ends (2020-01-01) is before starts"),
        ("cycle.yml", lambda d: phases(d)["voting"].pop("ends"), "phase 'voting': 'ends' is missing"),
        ("cycle.yml", lambda d: phases(d)["review"].update(starts="next monday"), "'starts' must be a date"),
        (
            "cycle.yml",
            lambda d: d["voting"].update(budget_ceiling="lots"),
            "'budget_ceiling' must be a positive amount",
        ),
        ("cycle.yml", lambda d: d["voting"].update(max_selections=0), "'max_selections' must be between 1 and 20"),
        ("cycle.yml", lambda d: d["proposals"].update(min_cost="10억원"), "min_cost is larger than max_cost"),
        ("cycle.yml", lambda d: d["pb_office"]["send"].update(url="ftp://office"), "is not an http(s) URL"),
        ("cycle.yml", lambda d: d["cycle"].update(number_prefix="GY"), "must differ from the city's ticket_prefix"),
        ("cycle.yml", lambda d: d["consent"].pop("retention"), "'retention' is missing"),
        ("cycle.yml", lambda d: d.update(rules={}), "unknown field 'rules'"),
        ("projects.yml", lambda d: d["projects"][0].update(category="lottery"), "unknown category 'lottery'"),
        ("projects.yml", lambda d: d["projects"][0].update(district="강남구"), "unknown district '강남구'"),
        ("projects.yml", lambda d: d["projects"][0].update(dong="행신동"), "dong '행신동' is not in 일산동구"),
        ("projects.yml", lambda d: d["projects"][0].update(cost="공짜"), "'cost' must be a positive amount"),
        (
            "projects.yml",
            lambda d: d["projects"][2].update(cost="20억원"),
            "cannot cost more than the ballot's budget_ceiling",
        ),
        ("projects.yml", lambda d: d["projects"][1].update(id=d["projects"][0]["id"]), "duplicate project id"),
        ("projects.yml", lambda d: d["projects"][0].update(status="maybe"), "'status' must be one of"),
        ("surveys.yml", lambda d: d["surveys"][0]["questions"][0].update(choices=["네"]), "needs 2 to 9 choices"),
        ("surveys.yml", lambda d: d["surveys"][0]["questions"][1].update(choices=["a", "b"]), "has no choices"),
        ("surveys.yml", lambda d: d["surveys"][1].update(open_during=["someday"]), "unknown phase 'someday'"),
    ],
)
def test_mistakes_are_reported_with_their_place(editable, filename, change, expected):
    directory, edit = editable
    edit(filename, change)
    message = errors_of(directory)
    assert expected in message
    assert filename in message


def test_all_problems_are_reported_at_once(editable):
    directory, edit = editable
    edit(
        "projects.yml",
        lambda d: (d["projects"][0].update(category="lottery"), d["projects"][1].update(district="강남구")),
    )
    edit("surveys.yml", lambda d: d["surveys"][0]["questions"][0].update(kind="essay"))
    message = errors_of(directory)
    assert "lottery" in message and "강남구" in message and "'kind' must be one of" in message


def test_a_missing_file_is_reported(editable):
    directory, _ = editable
    (directory / "surveys.yml").unlink()
    assert "surveys.yml: file not found" in errors_of(directory)


def test_amounts_may_be_written_in_won_or_in_korean(editable):
    directory, edit = editable
    edit("projects.yml", lambda d: d["projects"][0].update(cost=80_000_000))
    edit("cycle.yml", lambda d: d["voting"].update(budget_ceiling="10억 원"))
    data = load_budget_data(get_city_config(), directory)
    assert data.projects[next(iter(data.projects))].cost_won == 80_000_000
    assert data.cycle.voting.budget_ceiling_won == 1_000_000_000
