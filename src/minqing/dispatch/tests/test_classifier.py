from __future__ import annotations

import json
import logging
import os
import pickle

import pytest
from sklearn.metrics import f1_score

from minqing.dispatch.classifier import (
    MAGIC,
    ModelUnavailable,
    Suggestion,
    TextClassifier,
    load_or_none,
    read_header,
)

SECRET = "test-secret"


def _predict(model: TextClassifier, rows) -> list[str]:
    return [model.predict_top_k(row.text, k=1)[0].label for row in rows]


def _header_and_payload(blob: bytes) -> tuple[dict, bytes]:
    start = len(MAGIC) + 4
    length = int.from_bytes(blob[len(MAGIC) : start], "big")
    return json.loads(blob[start : start + length]), blob[start + length :]


def _assemble(header: dict, payload: bytes) -> bytes:
    header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + len(header_bytes).to_bytes(4, "big") + header_bytes + payload


def test_held_out_split_macro_f1_well_above_chance(trained, split_rows):
    _, test = split_rows
    truth = [row.category for row in test]
    # Seven unbalanced categories: chance macro-F1 is about 0.14.
    assert f1_score(truth, _predict(trained, test), average="macro") >= 0.6


def test_top3_distinct_sorted_and_summing_to_at_most_one(trained, split_rows):
    for row in split_rows[1][:40]:
        suggestions = trained.predict_top_k(row.text, k=3)
        labels = [suggestion.label for suggestion in suggestions]
        confidences = [suggestion.confidence for suggestion in suggestions]
        assert len(set(labels)) == 3
        assert confidences == sorted(confidences, reverse=True)
        assert 0 <= sum(confidences) <= 1 + 1e-6


def test_reasons_are_chinese_words_from_the_text(trained, split_rows):
    row = split_rows[1][0]
    top = trained.predict_top_k(row.text)[0]
    assert top.reasons
    text = row.text.lower()
    for reason in top.reasons:
        assert len(reason) >= 2
        assert reason in text


def test_confident_suggestion_is_not_flagged_low(trained):
    top = trained.predict_top_k("孩子所在的小学乱收费，老师补课收费，教育局不管")[0]
    assert top.label == "教育文体"
    assert top.low_confidence is False


@pytest.mark.parametrize("text", ["", "   ", "The street light outside my house is broken", "？？！！ 123"])
def test_empty_or_non_chinese_text_gives_low_confidence_not_errors(trained, text):
    suggestions = trained.predict_top_k(text)
    assert len(suggestions) == 3
    assert all(isinstance(s, Suggestion) and s.low_confidence is True for s in suggestions)
    assert all(s.reasons == [] for s in suggestions)
    assert suggestions[0].confidence < 0.5


def test_save_load_round_trip_gives_identical_predictions(trained, split_rows, tmp_path):
    path = trained.save(tmp_path / "models" / "category.model", secret=SECRET)
    loaded = TextClassifier.load(path, secret=SECRET)
    for row in split_rows[1][:25]:
        assert loaded.predict_top_k(row.text) == trained.predict_top_k(row.text)
    assert read_header(path, secret=SECRET)["labels"] == trained.labels


def test_save_signs_with_settings_secret_key_by_default(trained, tmp_path, settings):
    settings.SECRET_KEY = "one-key"
    path = trained.save(tmp_path / "m.model")
    assert TextClassifier.load(path).labels == trained.labels
    settings.SECRET_KEY = "another-key"
    with pytest.raises(ModelUnavailable, match="checksum"):
        TextClassifier.load(path)


def test_corrupt_file_raises_model_unavailable(trained, tmp_path):
    path = trained.save(tmp_path / "m.model", secret=SECRET)
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelUnavailable, match="checksum"):
        TextClassifier.load(path, secret=SECRET)


@pytest.mark.parametrize("content", [b"", b"garbage", MAGIC + b"\x00\x00\x00\x05{{{{{"])
def test_truncated_or_foreign_file_raises_model_unavailable(tmp_path, content):
    path = tmp_path / "m.model"
    path.write_bytes(content)
    with pytest.raises(ModelUnavailable):
        TextClassifier.load(path, secret=SECRET)


def test_missing_file_raises_model_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot read"):
        TextClassifier.load(tmp_path / "absent.model", secret=SECRET)


def test_wrong_checksum_raises_model_unavailable(trained, tmp_path):
    path = trained.save(tmp_path / "m.model", secret=SECRET)
    header, payload = _header_and_payload(path.read_bytes())
    header["hmac"] = "0" * 64
    path.write_bytes(_assemble(header, payload))
    with pytest.raises(ModelUnavailable, match="checksum"):
        TextClassifier.load(path, secret=SECRET)


def test_wrong_format_version_raises_model_unavailable(trained, tmp_path):
    path = trained.save(tmp_path / "m.model", secret=SECRET)
    header, payload = _header_and_payload(path.read_bytes())
    header["format"] = 99
    path.write_bytes(_assemble(header, payload))
    with pytest.raises(ModelUnavailable, match="format 99"):
        TextClassifier.load(path, secret=SECRET)


class _Exploit:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_unsigned_pickle_is_never_executed(trained, tmp_path):
    pickle.loads(pickle.dumps(_Exploit(str(tmp_path / "control"))))
    assert (tmp_path / "control").is_dir()  # the payload does run when unpickled
    path = trained.save(tmp_path / "m.model", secret=SECRET)
    header, _ = _header_and_payload(path.read_bytes())
    path.write_bytes(_assemble(header, pickle.dumps(_Exploit(str(tmp_path / "pwned")))))
    with pytest.raises(ModelUnavailable, match="checksum"):
        TextClassifier.load(path, secret=SECRET)
    assert not (tmp_path / "pwned").exists()


def test_load_or_none_falls_back_and_logs_once(tmp_path, caplog):
    path = tmp_path / "absent.model"
    with caplog.at_level(logging.WARNING, logger="minqing.dispatch.classifier"):
        assert load_or_none(path, secret=SECRET) is None
        assert load_or_none(path, secret=SECRET) is None
    assert len([r for r in caplog.records if "routing rules" in r.getMessage()]) == 1


def test_untrained_classifier_is_unavailable():
    with pytest.raises(ModelUnavailable):
        TextClassifier().predict_top_k("路灯坏了")


def test_fit_needs_two_labels():
    with pytest.raises(ValueError, match="two different labels"):
        TextClassifier().fit(["路灯坏了", "道路破损"], ["城建", "城建"])


def test_rare_label_and_two_label_training_work():
    texts = ["小区路灯坏了很久没人修", "道路破损坑洼不平", "下水道堵塞污水横流", "学校乱收费补课费"]
    model = TextClassifier().fit(texts, ["城建", "城建", "城建", "教育"])
    suggestions = model.predict_top_k("学校收取补课费", k=3)
    assert [s.label for s in suggestions] == sorted(model.labels, key=lambda label: label != suggestions[0].label)
    assert len(suggestions) == 2
    assert sum(s.confidence for s in suggestions) == pytest.approx(1, abs=1e-3)
