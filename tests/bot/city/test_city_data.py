"""City data (data/city/): loading, validation errors, the validate CLI and the place normaliser."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.city import CityDataError, load_city_config
from bot.city.loader import DEFAULT_DATA_DIR, NLU_COMPLAINT_CATEGORIES, NLU_EMERGENCY_TYPES
from bot.city.places import PlaceNormaliser

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def city_dir(tmp_path: Path) -> Path:
    """A copy of the shipped city data that a test may break."""
    target = tmp_path / "city"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def edit(city_dir: Path, filename: str, change) -> None:
    path = city_dir / filename
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def errors_of(city_dir: Path) -> str:
    with pytest.raises(CityDataError) as raised:
        load_city_config(city_dir)
    return "\n".join(raised.value.errors)


def item(document: dict, list_key: str, item_id: str) -> dict:
    return next(entry for entry in document[list_key] if entry["id"] == item_id)


# --- the shipped data ------------------------------------------------------------------------------


def test_shipped_data_is_valid_and_complete():
    config = load_city_config(DEFAULT_DATA_DIR)
    assert config.profile.ticket_prefix == "GY"
    assert config.profile.timezone == "Asia/Seoul"
    assert set(NLU_COMPLAINT_CATEGORIES) <= set(config.complaint_categories)
    assert set(NLU_EMERGENCY_TYPES) <= set(config.emergency_types)
    assert {district.name for district in config.districts} == {"덕양구", "일산동구", "일산서구"}
    for category in config.complaint_categories.values():
        assert category.processing_days in (7, 14)
        assert config.department_for_category(category.id).send.destination


def test_emergency_fan_out_follows_agency_districts():
    config = load_city_config(DEFAULT_DATA_DIR)
    deogyang = {agency.id for agency in config.agencies_to_alert("fire", "덕양구")}
    assert "goyang_fire_station" in deogyang and "ilsan_fire_station" not in deogyang
    everywhere = {agency.id for agency in config.agencies_to_alert("fire", None)}
    assert {"goyang_fire_station", "ilsan_fire_station"} <= everywhere


# --- validation errors -----------------------------------------------------------------------------


def test_category_with_unknown_department(city_dir):
    edit(
        city_dir,
        "complaint_categories.yml",
        lambda doc: item(doc, "complaint_categories", "noise").update(department="noise_squad"),
    )
    assert "category 'noise' names unknown department 'noise_squad'" in errors_of(city_dir)


def test_category_without_department(city_dir):
    edit(city_dir, "complaint_categories.yml", lambda doc: item(doc, "complaint_categories", "tree").pop("department"))
    assert "complaint category 'tree': 'department' is missing" in errors_of(city_dir)


def test_http_department_without_url(city_dir):
    edit(city_dir, "departments.yml", lambda doc: item(doc, "departments", "parks")["send"].pop("url"))
    assert "department 'parks', send: send method 'http' needs a 'url'" in errors_of(city_dir)


def test_bad_send_method(city_dir):
    edit(city_dir, "departments.yml", lambda doc: item(doc, "departments", "parks")["send"].update(method="fax"))
    assert "unknown send method 'fax' (expected one of: http, email)" in errors_of(city_dir)


def test_bad_email_address(city_dir):
    edit(
        city_dir,
        "agencies.yml",
        lambda doc: item(doc, "agencies", "army_9th_division")["send"].update(address="not-an-address"),
    )
    assert "agency 'army_9th_division', send: 'not-an-address' is not an e-mail address" in errors_of(city_dir)


def test_duplicate_department_id(city_dir):
    edit(city_dir, "departments.yml", lambda doc: doc["departments"].append(dict(doc["departments"][0])))
    assert "duplicate id 'road_management' in departments" in errors_of(city_dir)


def test_emergency_with_unknown_agency(city_dir):
    edit(
        city_dir,
        "emergency_types.yml",
        lambda doc: item(doc, "emergency_types", "gas")["agencies"].append("ghostbusters"),
    )
    assert "emergency type 'gas' names unknown agency 'ghostbusters'" in errors_of(city_dir)


def test_missing_nlu_category(city_dir):
    edit(
        city_dir,
        "complaint_categories.yml",
        lambda doc: doc["complaint_categories"].remove(item(doc, "complaint_categories", "sewer")),
    )
    assert "no complaint category for NLU value(s) sewer" in errors_of(city_dir)


def test_misspelt_field_and_bad_values(city_dir):
    def break_department(doc):
        department = item(doc, "departments", "greenery")
        department["workinghours"] = department.pop("working_hours")

    edit(city_dir, "departments.yml", break_department)
    edit(
        city_dir,
        "complaint_categories.yml",
        lambda doc: item(doc, "complaint_categories", "noise").update(processing_days="seven"),
    )
    edit(city_dir, "city.yml", lambda doc: doc["city"].update(ticket_prefix="gy", timezone="Asia/Goyang"))
    errors = errors_of(city_dir)
    assert "department 'greenery': unknown field 'workinghours'" in errors
    assert "department 'greenery': 'working_hours' is missing" in errors
    assert "'processing_days' must be a whole number, got 'seven'" in errors
    assert "ticket_prefix 'gy' must be 2 to 5 capital letters" in errors
    assert "unknown timezone 'Asia/Goyang'" in errors


def test_dong_listed_in_two_districts(city_dir):
    edit(city_dir, "districts.yml", lambda doc: doc["districts"][0]["dongs"].append("주엽동"))
    assert "'주엽동' is listed for both" in errors_of(city_dir)


def test_missing_file_and_broken_yaml(city_dir):
    (city_dir / "agencies.yml").unlink()
    (city_dir / "departments.yml").write_text("departments: [\n", encoding="utf-8")
    errors = errors_of(city_dir)
    assert "agencies.yml: file not found" in errors
    assert "departments.yml: not valid YAML" in errors


# --- CLI -------------------------------------------------------------------------------------------


def run_validate(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.city", "validate", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validate_cli_accepts_shipped_data():
    result = run_validate(DEFAULT_DATA_DIR)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_validate_cli_fails_with_readable_errors(city_dir):
    edit(
        city_dir,
        "complaint_categories.yml",
        lambda doc: item(doc, "complaint_categories", "noise").update(department="nobody"),
    )
    result = run_validate(city_dir)
    assert result.returncode == 1
    assert "category 'noise' names unknown department 'nobody'" in result.stderr
    assert "Traceback" not in result.stderr


# --- place normaliser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def places() -> PlaceNormaliser:
    return PlaceNormaliser.for_city(load_city_config(DEFAULT_DATA_DIR))


@pytest.mark.parametrize(
    "text, key",
    [
        ("고양시 일산 서구 주엽2동 강선마을 14단지 앞", "일산서구/주엽동/강선마을14단지"),
        ("주엽동 강선마을14단지", "일산서구/주엽동/강선마을14단지"),
        ("경기도 고양시 일산동구 마두1동 정발산역 근처", "일산동구/마두동/정발산역"),
        ("백석 1동 흰돌마을", "일산동구/백석동/흰돌마을"),
        ("행신2동주민센터", "덕양구/행신동/주민센터"),
        ("고양동 시장 옆", "덕양구/고양동/시장"),
        ("덕양구 화정역", "덕양구/-/화정역"),
        ("일산동구청", "일산동구/-/청"),
    ],
)
def test_place_keys(places, text, key):
    assert places.normalise(text).key == key


def test_dong_decides_district_and_district_alone_is_not_specific(places):
    assert places.normalise("일산동구 주엽동 공원").district == "일산서구"
    assert not places.normalise("일산서구").is_specific
    assert places.normalise("주엽1동").is_specific


def test_same_spot(places):
    station = places.normalise("주엽동 주엽역")
    assert station.same_spot(places.normalise("일산서구 주엽2동 주엽역 2번 출구 앞"))
    assert not station.same_spot(places.normalise("대화동 주엽역"))
    assert not station.same_spot(places.normalise("주엽동"))
    assert places.normalise("주엽동 앞").same_spot(places.normalise("주엽1동"))


# --- issue 14: every complaint can be filed ----------------------------------------------------------

ISSUE_14_CATEGORIES = (
    "construction_noise",
    "illegal_advertising",
    "smoking",
    "odour",
    "bus_service",
    "abandoned_vehicle",
    "snow_ice",
    "illegal_structure",
    "public_toilet",
    "other",
)


def test_issue_14_categories_are_routed_with_deadlines_and_synonyms():
    config = load_city_config(DEFAULT_DATA_DIR)
    for category_id in ISSUE_14_CATEGORIES:
        category = config.complaint_categories[category_id]
        assert category.label and category.synonyms, category_id
        assert category.processing_days in (7, 14), category_id
        assert config.department_for_category(category_id).send.destination, category_id


def test_catch_all_goes_to_the_general_complaints_desk():
    config = load_city_config(DEFAULT_DATA_DIR)
    assert "other" in NLU_COMPLAINT_CATEGORIES
    other = config.complaint_categories["other"]
    assert other.label == "기타 생활민원"
    desk = config.department_for_category("other")
    assert desk.id == "general_complaints" and "민원" in desk.name
    assert not other.needs_exact_location and not other.needs_photo


def test_catch_all_category_is_required(city_dir):
    edit(
        city_dir,
        "complaint_categories.yml",
        lambda doc: doc["complaint_categories"].remove(item(doc, "complaint_categories", "other")),
    )
    assert "no complaint category for NLU value(s) other" in errors_of(city_dir)


def test_new_category_synonyms_do_not_shadow_each_other():
    """A synonym belongs to one category only, so free text maps to one category."""
    config = load_city_config(DEFAULT_DATA_DIR)
    owner = {}
    for category in config.complaint_categories.values():
        for word in (category.label, *category.synonyms):
            key = word.replace(" ", "")
            assert owner.setdefault(key, category.id) == category.id, (word, owner[key], category.id)
