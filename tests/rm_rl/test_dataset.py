"""Tests from dataset rows: coercion, the index, local files and the hub path."""

from __future__ import annotations

import json
import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rm_rl.dataset import ProblemIndex, RewardRow, coerce_tests, load_problems, question_key, resolve_tests
from rm_rl.errors import DatasetError, TestsNotFoundError

from .conftest import ADD_TESTS


class TestCoerce:
    def test_list_and_tuple(self):
        assert coerce_tests(["assert f()"]) == ("assert f()",)
        assert coerce_tests(("a", {"kind": "io", "stdin": "", "expected_stdout": ""}))[1]["kind"] == "io"

    def test_json_string(self):
        assert coerce_tests('["assert f(1) == 1", "assert f(2) == 2"]') == ("assert f(1) == 1", "assert f(2) == 2")

    def test_single_assert_string(self):
        assert coerce_tests("assert f(1) == 1") == ("assert f(1) == 1",)

    def test_numpy_array(self):
        np = pytest.importorskip("numpy")
        assert coerce_tests(np.array(["assert x", "assert y"], dtype=object)) == ("assert x", "assert y")

    def test_errors_name_the_place(self):
        with pytest.raises(DatasetError, match="row 3: looks like a JSON list"):
            coerce_tests("[broken", where="row 3")
        with pytest.raises(DatasetError, match=r"t\[1\]: expected an assert string"):
            coerce_tests(["ok", 5], where="t")
        with pytest.raises(DatasetError, match="expected a list of tests"):
            coerce_tests({"a": 1})
        with pytest.raises(TestsNotFoundError):
            coerce_tests(None)


class TestIndex:
    def index(self):
        return ProblemIndex(
            [RewardRow("a", ("assert f() == 1",), "Write f.\nReturn 1."), RewardRow("b", ("assert g()",), "")],
            source="mem",
        )

    def test_lookup_by_id(self):
        idx = self.index()
        assert idx["a"] == ("assert f() == 1",)
        assert "a" in idx and "zz" not in idx and len(idx) == 2 and sorted(idx) == ["a", "b"]
        with pytest.raises(TestsNotFoundError, match="no dataset row with id 'zz' in mem"):
            idx["zz"]

    def test_lookup_by_question_ignores_whitespace(self):
        idx = self.index()
        assert idx.find_question("  Write f.   Return 1.\n").id == "a"
        assert idx.find_question("Write g.") is None

    def test_a_question_shared_by_rows_with_different_tests_is_not_guessed(self):
        """Real MBPP: tasks 216 and 872 share their text, with different tests (check_subset_list vs
        check_subset). The first row's tests used to judge the second's completions (a correct one: 0.0)."""
        q = "Write a function to check if a nested list is a subset of another nested list."
        idx = ProblemIndex([RewardRow("216", ("assert check_subset_list([1], [[1]]) == False",), q),
                            RewardRow("872", ("assert check_subset([[1]], [[1]]) == True",), q),
                            RewardRow("dup", ("assert f()",), "Same."), RewardRow("dup2", ("assert f()",), " Same. ")],
                           source="mbpp")
        with pytest.raises(TestsNotFoundError, match=r"matches 2 rows with different tests \('216', '872'\) in mbpp"):
            idx.find_question(q)
        with pytest.raises(TestsNotFoundError, match="^label: the question matches 2 rows"):
            resolve_tests(None, [{"role": "user", "content": q}], idx)
        assert resolve_tests("872", None, idx) == ("assert check_subset([[1]], [[1]]) == True",)
        assert idx.find_question("Same.").id == "dup"  # the same tests twice: either row is right

    def test_from_rows_context_messages_and_numbering(self):
        rows = [
            {"context_messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "Q1"}],
             "tests": ["assert 1"]},
            {"question": "Q2", "test_cases": ["assert 2"]},
        ]
        idx = ProblemIndex.from_rows(rows)
        assert idx.find_question("Q1").id == "0" and idx["1"] == ("assert 2",)

    def test_from_rows_errors(self):
        with pytest.raises(DatasetError, match="row 0: missing field 'tests' or 'test_cases'"):
            ProblemIndex.from_rows([{"id": 1, "question": "q"}])
        with pytest.raises(DatasetError, match="row 1: duplicate 'id' '1'"):
            ProblemIndex.from_rows([{"id": 1, "tests": ["a"]}, {"id": "1", "tests": ["b"]}])
        with pytest.raises(DatasetError, match="missing field 'task_id'"):
            ProblemIndex.from_rows([{"tests": ["a"]}], id_key="task_id")
        with pytest.raises(DatasetError, match="the value is null"):
            ProblemIndex.from_rows([{"id": 1, "tests": None}])


@given(st.text(max_size=80), st.lists(st.sampled_from([" ", "\n", "\t", "  "]), min_size=1, max_size=4))
def test_question_key_is_blind_to_whitespace(text, spaces):
    respaced = spaces[0] + "".join(w + spaces[i % len(spaces)] for i, w in enumerate(text.split()))
    assert question_key(respaced) == question_key(text)


class TestLoad:
    def test_acecode_jsonl(self, acecode_jsonl):
        idx = load_problems(str(acecode_jsonl))
        assert len(idx) == 3
        assert idx["add"] == tuple(ADD_TESTS)
        assert idx["sq"] == ("assert sq(3) == 9",)  # a JSON-encoded 'tests' column
        assert idx.find_question("Write rev(s) that reverses the string s.").id == "rev"

    def test_json_and_directory(self, tmp_path):
        (tmp_path / "a.json").write_text(json.dumps({"train": [{"id": "x", "tests": ["assert 1"]}]}))
        (tmp_path / "b.jsonl").write_text(json.dumps({"id": "y", "tests": ["assert 2"]}) + "\n\n")
        assert load_problems(str(tmp_path / "a.json"))["x"] == ("assert 1",)
        assert sorted(load_problems(str(tmp_path))) == ["x", "y"]

    def test_parquet_keeps_only_needed_columns(self, tmp_path):
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        table = pa.table({
            "id": ["p1", "p2"],
            "question": ["Q1", "Q2"],
            "test_cases": [["assert a()"], ["assert b()", "assert c()"]],
            "inferences": ["big", "big"],
        })
        pq.write_table(table, tmp_path / "d.parquet")
        idx = load_problems(str(tmp_path / "d.parquet"))
        assert idx["p2"] == ("assert b()", "assert c()") and idx.find_question("Q1").id == "p1"

    def test_malformed_jsonl_names_the_line(self, tmp_path):
        path = tmp_path / "bad.jsonl"
        path.write_text('{"id": 1, "tests": ["a"]}\n{not json}\n')
        with pytest.raises(DatasetError, match=r"bad.jsonl: line 2: invalid JSON"):
            load_problems(str(path))
        path.write_text('{"id": 1, "tests": ["a"]}\n[1, 2]\n')
        with pytest.raises(DatasetError, match="bad.jsonl: line 2: expected a JSON object, got list"):
            load_problems(str(path))

    def test_missing_file_and_unknown_format(self, tmp_path):
        with pytest.raises(DatasetError, match="nope.jsonl: dataset file not found"):
            load_problems(str(tmp_path / "nope.jsonl"))
        with pytest.raises(DatasetError, match="relative/missing: dataset file not found"):
            load_problems("./relative/missing")
        (tmp_path / "x.csv").write_text("id,tests\n")
        with pytest.raises(DatasetError, match="unknown format"):
            load_problems(str(tmp_path / "x.csv"))
        (tmp_path / "empty").mkdir()
        with pytest.raises(DatasetError, match="empty: no .jsonl, .json or .parquet files"):
            load_problems(str(tmp_path / "empty"))

    def test_hub_name_goes_through_datasets(self, monkeypatch):
        """The hub path (not reachable here) is datasets.load_dataset, with only the needed columns."""
        datasets = pytest.importorskip("datasets")
        calls = []

        def fake_load(name, config=None, split=None):
            calls.append((name, split))
            return datasets.Dataset.from_list(
                [{"id": "h1", "question": "Q", "test_cases": ["assert h()"], "inferences": "x"}]
            )

        monkeypatch.setattr(datasets, "load_dataset", fake_load)
        idx = load_problems("TIGER-Lab/AceCode-87K", split="train")
        assert calls == [("TIGER-Lab/AceCode-87K", "train")] and idx["h1"] == ("assert h()",)

    def test_hub_failure_is_a_dataset_error(self, monkeypatch):
        fake = types.ModuleType("datasets")

        def boom(name, config=None, split=None):
            raise ConnectionError("hub unreachable")

        fake.load_dataset = boom
        monkeypatch.setitem(sys.modules, "datasets", fake)
        with pytest.raises(DatasetError, match="org/name: cannot load this dataset.*hub unreachable"):
            load_problems("org/name")


class TestResolve:
    def index(self):
        return ProblemIndex([RewardRow("a", ("assert f()",), "Write f.")], source="d")

    def test_label_forms(self):
        idx = self.index()
        assert resolve_tests(["assert x"], None, None) == ("assert x",)
        assert resolve_tests('["assert x"]', None, None) == ("assert x",)
        assert resolve_tests({"test_cases": ["assert y"]}, None, None) == ("assert y",)
        assert resolve_tests("a", None, idx) == ("assert f()",)
        assert resolve_tests(None, "<|im_start|>user\nWrite  f.<|im_end|>\n<|im_start|>assistant\n", idx) == (
            "assert f()",
        )

    def test_errors(self):
        idx = self.index()
        with pytest.raises(TestsNotFoundError, match=r"labels\[2\]: .*no dataset row with id 'zz'"):
            resolve_tests("zz", None, idx, where="labels[2]")
        with pytest.raises(TestsNotFoundError, match="is a row id, but no dataset"):
            resolve_tests("zz", None, None)
        with pytest.raises(TestsNotFoundError, match="matches no question"):
            resolve_tests(None, "Other question", idx)
        with pytest.raises(TestsNotFoundError, match="no label and no dataset"):
            resolve_tests(None, "q", None)
        with pytest.raises(TestsNotFoundError, match="needs a 'tests' or 'test_cases' field"):
            resolve_tests({"x": 1}, None, None)
        with pytest.raises(TestsNotFoundError, match="JSON list"):
            resolve_tests("[oops", None, None)
