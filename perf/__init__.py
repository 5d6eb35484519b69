"""Speed measurements of the toolkit, run from a checkout (not shipped in the wheel).

One module per measurement, each run as ``python -m perf.<name>`` and importing only
the public API of the packages it measures: :mod:`perf.sandbox` (acesandbox against a
naive and an evalplus baseline), :mod:`perf.backends` (docker and ray against
namespace), :mod:`perf.pipeline` (the data pipeline around the executor),
:mod:`perf.rewards` (the reward server over HTTP against direct calls),
:mod:`perf.reward_server` (single-sample requests against one batch),
:mod:`perf.reward_model` (reward-model training and scoring throughput),
:mod:`perf.soak` (reliability under load: hostile and real jobs at 2x oversubscription),
:mod:`perf.breakdown` (where a test's milliseconds go), :mod:`perf.floor` (the same
workload forked per job or per test with no sandbox at all) and
:mod:`perf.evalplus` (EvalPlus scoring against the official package). See README.md.
"""
