"""The fake as a model translating between scripts: realistic lengths per pair, the target's
real script, the prompt's glossary followed, and reproducible mistakes."""

# ruff: noqa: RUF001 - CJK punctuation and Cyrillic text are the subject of these tests
from __future__ import annotations

import re

import pytest

from folio_fakellm.core import Engine, LLMCall
from folio_fakellm.mistakes import Mistake, MistakeMaker, apply
from folio_fakellm.pseudo import language_kind, pseudo_translate
from folio_fakellm.settings import FakeLLMSettings

JA = (
    "春の朝、ハルカは駅の前で兄のケンジを待っていた。"
    "汽車は三十分も遅れていて、ホームには冷たい風が吹いていた。"
)
ZH = (
    "那年春天，林小雨第一次离开家乡，坐上了去上海的火车。"
    "车厢里人很多，她抱着母亲给她的布包，一路上几乎没有说话。"
)
KO = (
    "그해 봄, 민지는 처음으로 서울에 올라왔다. "
    "기차역은 사람들로 가득했고, 그녀는 보따리를 꼭 껴안았다."
)
RU = (
    "Весной Анна Петровна впервые приехала в Москву. "
    "На вокзале было шумно и тесно, и она долго стояла у колонны."
)
EN = "On a spring morning, Haruka was waiting in front of the station for her brother Kenji."


@pytest.mark.parametrize(
    ("source", "target", "low", "high"),
    [
        (ZH, "English", 2.5, 4.5),
        (JA, "English", 1.6, 3.2),
        (KO, "English", 1.4, 2.8),
        (RU, "English", 0.8, 1.4),
        (JA, "Korean", 0.8, 1.7),
        (JA, "Chinese (Simplified)", 0.5, 1.0),
    ],
)
def test_length_follows_the_pair_of_scripts(source, target, low, high):
    out = pseudo_translate(source, target)
    assert low <= len(out) / len(source) <= high


def test_each_target_gets_its_own_script():
    assert re.fullmatch(r"[A-Za-z ,.]+", pseudo_translate(JA, "English"))
    assert not re.search(r"[A-Za-z]", pseudo_translate(EN, "Russian").replace("Haruka", ""))
    assert re.search(r"[\u0400-\u04ff]", pseudo_translate(EN, "ru"))
    hant = pseudo_translate(EN, "Chinese (Traditional, Taiwan)")
    assert language_kind("Chinese (Traditional, Taiwan)") == "zht"
    assert set(hant) & set("們這個說來時為會對國學後點還經麼開長過沒與")
    assert re.search(r"[\uac00-\ud7af]", pseudo_translate(JA, "Korean"))
    assert not re.search(r"[\u3040-\u30ff]", pseudo_translate(JA, "Korean"))


def call(prompt: str) -> LLMCall:
    return LLMCall(
        protocol="openai", endpoint="x", model="m", key="k", prompt=prompt, user_texts=[prompt]
    )


def test_the_prompts_glossary_is_followed_case_and_word_exactly():
    engine = Engine(FakeLLMSettings())
    prompt = (
        "Glossary:\n- Will => 윌\n- Los Angeles => 로스앤젤레스\n\n<target_language>Korean"
        "</target_language>\n<source>\nWill said he will go to Los Angeles.\n</source>"
    )
    answer = engine.answer_text(call(prompt))
    assert answer.count("윌") == 1 and "로스앤젤레스" in answer


def test_mistakes_are_reproducible_and_a_retry_can_succeed():
    prompts = [
        f"<source>\nParagraph {i} one.\n\nParagraph {i} two, 1931.\n</source>" for i in range(200)
    ]
    first, second = MistakeMaker(0.3), MistakeMaker(0.3)
    draws = [first.draw(p) for p in prompts]
    assert draws == [second.draw(p) for p in prompts]  # the same run, the same answers
    rate = sum(d is not None for d in draws) / len(draws)
    assert 0.15 < rate < 0.45
    assert {d.kind for d in draws if d} == {"merge", "split", "drop-number", "drop-term"}
    again = [first.draw(p) for p in prompts]  # asked a second time: drawn anew
    assert again != draws
    assert MistakeMaker(0.0).draw(prompts[0]) is None


def test_markers_make_one_mistake_on_translation_answers_only():
    maker = MistakeMaker(0.0)
    prompt = "<source>\nA. [[fake:merge*1]]\n\nB.\n</source>"
    assert maker.draw(prompt) == Mistake("merge", 0.0)
    assert maker.draw(prompt) is None
    assert apply(Mistake("merge", 0.0), "One.\n\nTwo.") == "One. Two."
    assert apply(Mistake("split", 0.0), "One. Two.") == "One.\n\nTwo."
    assert apply(Mistake("drop-number", 0.0), "In 1931 he came.") == "In  he came."
