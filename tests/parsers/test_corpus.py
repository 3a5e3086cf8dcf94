"""Our engine against the hand-written corpus (tests/corpus). The cases it gets right are listed
in tests/corpus/passing.txt, reviewed like golden files: a listed case that breaks fails the
suite, and so does a case that starts to pass until it is listed (`--update-goldens` adds it,
never drops one that broke).
bench/accuracy.py scores every case, ours and the peers'."""

from __future__ import annotations

from tests.parsers.corpus import CORPUS, cases, differences, ours

PASSING = CORPUS / "passing.txt"


def _listed() -> set[str]:
    if not PASSING.exists():
        return set()
    return {line.strip() for line in PASSING.read_text(encoding="utf-8").splitlines()} - {""}


def test_every_case_is_analysed_without_an_exception() -> None:
    for case in cases():
        ours(case)  # bad input included: issues, never an exception


def test_the_cases_we_got_right_stay_right(update_goldens: bool) -> None:
    results = {case.key: differences(case, ours(case)) for case in cases()}
    passing = {key for key, diff in results.items() if not diff}
    listed = _listed()
    broken = {key: results[key] for key in sorted(listed) if results.get(key)}
    assert not broken, f"cases that passed before now differ: {broken}"
    assert listed <= set(results), f"listed cases no longer in the corpus: {sorted(listed - set(results))}"
    assert len(passing) >= 0.4 * len(results), f"only {len(passing)} of {len(results)} corpus cases pass"
    if update_goldens:
        PASSING.write_text("".join(f"{key}\n" for key in sorted(passing)), encoding="utf-8")
    else:
        assert passing <= listed, f"cases that now pass: add them with --update-goldens: {sorted(passing - listed)}"
