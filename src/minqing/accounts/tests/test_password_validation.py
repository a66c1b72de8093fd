from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation

from minqing.accounts.actions import create_staff_user
from minqing.accounts.models import User
from minqing.accounts.validators import CharacterClassValidator


def messages_for(password: str) -> list[str]:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        validate_password(password)
    return caught.value.messages


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_short_password_is_rejected_in_chinese():
    messages = messages_for("Ab1#")
    assert messages
    assert all(has_chinese(message) for message in messages)


def test_single_class_password_is_rejected_with_class_message():
    messages = messages_for("qwzxrtplmnvb")
    assert any("至少3类" in message for message in messages)


def test_two_class_password_is_rejected():
    with pytest.raises(ValidationError):
        CharacterClassValidator().validate("qwzxrtpl2024")


@pytest.mark.parametrize("password", ["Minqing#2024x", "qwzx#2024rtpl", "QWZX#2024RTPL", "Qwzxrtpl2024"])
def test_mixed_password_is_accepted(password):
    validate_password(password)


def test_character_classes_are_counted():
    assert CharacterClassValidator.classes_in("aA1#") == 4
    assert CharacterClassValidator.classes_in("汉字汉字") == 0


@pytest.mark.django_db
def test_create_staff_user_refuses_simple_password_and_creates_nothing():
    with pytest.raises(ValidationError):
        create_staff_user("newstaff", "password")
    assert not User.objects.filter(username="newstaff").exists()
