"""GB 11643-1999 公民身份号码: structure, ISO 7064 MOD 11-2 check character, 15→18 upgrade, normalisation."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms import idnumber
from forms.idnumber import IdNumberError

STANDARD_SAMPLES = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", STANDARD_SAMPLES)
def test_the_samples_of_the_standard_are_valid(number):
    assert idnumber.normalize(number) == number
    assert idnumber.is_valid(number)


def test_parts_of_a_number():
    assert idnumber.birth_date("11010519491231002X") == date(1949, 12, 31)
    assert idnumber.sex("11010519491231002X") == "2"  # sequence 002: even, female
    assert idnumber.sex("440524188001010014") == "1"  # sequence 001: odd, male
    assert idnumber.address_code("440524188001010014") == "440524"  # 潮阳县, abolished: still accepted
    assert idnumber.mask("11010519491231002X") == "110105********002X"
    assert idnumber.mask("12345") == "*****"


def test_fifteen_digit_numbers_are_upgraded():
    assert idnumber.upgrade_15("110105491231002") == "11010519491231002X"
    assert idnumber.normalize("110105491231002") == "11010519491231002X"


def test_full_width_digits_lower_case_x_and_spaces_are_normalised():
    assert idnumber.normalize("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert idnumber.normalize(" 11010519491231002x ") == "11010519491231002X"
    assert idnumber.normalize("１１０１０５４９１２３１００２") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("11010519491231002", "id_number.format"),  # 17 characters
        ("11010519491231002XX", "id_number.format"),
        ("1101051949123100X2", "id_number.format"),  # X only at the end
        ("11010519491331002X", "id_number.birth_date"),  # month 13
        ("110105194902300021", "id_number.birth_date"),  # 30 February
        ("110105299001010026", "id_number.birth_date_future"),
        ("110105194912310021", "id_number.checksum"),
        (
            "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",
            "id_number.format",
        ),  # Arabic-Indic digits are digits to \d and int(), not here
        ("", "id_number.format"),
    ],
)
def test_invalid_numbers_name_what_is_wrong(raw, code):
    with pytest.raises(IdNumberError) as caught:
        idnumber.normalize(raw)
    assert caught.value.code == code
    assert caught.value.message  # Chinese text for the user


def test_a_non_string_is_refused_not_crashed_on():
    for value in (None, 110105194912310021, ["11010519491231002X"], b"11010519491231002X"):
        with pytest.raises(IdNumberError) as caught:
            idnumber.normalize(value)
        assert caught.value.code == "id_number.type"


def test_check_char_needs_seventeen_digits():
    assert idnumber.check_char("11010519491231002") == "X"
    with pytest.raises(ValueError):
        idnumber.check_char("1101051949123100")


@st.composite
def valid_numbers(draw):
    area = draw(st.sampled_from(["110101", "110105", "370102", "440524", "530102", "654325"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    seq = draw(st.integers(min_value=0, max_value=999))
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + idnumber.check_char(body)


@given(valid_numbers())
def test_generated_numbers_are_valid(number):
    assert idnumber.normalize(number) == number


@given(valid_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_every_single_character_corruption_is_caught(number, position, replacement):
    """MOD 11-2 detects every single substitution: changing any one character of a valid number, to any
    other digit or X, never gives a valid number."""
    if number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    corrupted = number[:position] + replacement + number[position + 1 :]
    assert not idnumber.is_valid(corrupted)


@given(valid_numbers(), st.integers(min_value=0, max_value=16))
def test_every_adjacent_transposition_of_different_digits_is_caught(number, position):
    a, b = number[position], number[position + 1]
    if a == b or "X" in (a, b):
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert not idnumber.is_valid(swapped)


@pytest.mark.parametrize("number", STANDARD_SAMPLES)
def test_every_corruption_of_the_samples_is_caught_exhaustively(number):
    for position in range(18):
        for replacement in "0123456789X":
            if replacement != number[position]:
                assert not idnumber.is_valid(number[:position] + replacement + number[position + 1 :])
