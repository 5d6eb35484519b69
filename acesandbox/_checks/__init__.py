"""Split test asserts so that the verdict is reached in the trusted parent.

For ``assert add(1, 2) == 3`` only ``add(1, 2)`` (a *hole*) runs in the sandbox; its
value comes back through :mod:`acesandbox._wire` and the parent evaluates the
*template* ``_h0 == 3`` with real builtins. The program never sees ``3`` and cannot
answer with an object whose ``__eq__`` is always true.

Each expression node is *const* (the parent can evaluate it alone), *split* (a
trusted operation whose operands include program values) or *dep* (must run in the
sandbox). Holes are the maximal dep nodes. Trusted operations (operators, a fixed set
of pure builtins, ``math``/``cmath``, a safe part of ``operator``) always run in the
parent on rebuilt plain values, so patched builtins and lying dunders decide nothing.
Identity (``is``) is the exception: it cannot be faked, and means nothing on rebuilt
values, so it runs in the sandbox.

Holes that Python would evaluate only conditionally (after ``and``/``or``, in an
``if``-expression branch, later in a comparison chain) are still evaluated in the
sandbox, up front, but one that raises is sent as ``()``; the parent reports an
error only if its own short-circuiting evaluation reaches it.

Before splitting, shapes it could not take apart are normalised (:class:`_Normaliser`,
:func:`_inline_check_function`, :func:`_unroll_loops`): modules reached through
``__import__``/``importlib``, ``unittest.TestCase().assertX(...)``, ``all``/``any``,
comprehensions and top-level loops over literals, a ``check(candidate)`` function
called once. A plan whose holes would still hold test logic is ``forgeable``: such a
test runs whole in a test process in the sandbox instead (``acesandbox/_sandbox/testproc.py``).

Modules: :mod:`.data` (Check, Plan), :mod:`.names` (what the parent trusts), :mod:`.literals`,
:mod:`.normalise` (rewrites of test shapes), :mod:`.split` (template and holes), :mod:`.plan`
(assert and unittest tests), :mod:`.forgeable`, :mod:`.host` (judging; what the host may evaluate).
"""

from __future__ import annotations

from .data import Check as Check
from .data import Plan as Plan
from .host import _clip as _clip
from .host import _short_repr as _short_repr
from .host import host_safe as host_safe
from .host import judge as judge
from .plan import plan_assert_test as plan_assert_test
from .plan import plan_unittest as plan_unittest

__all__ = ["Check", "Plan", "host_safe", "judge", "plan_assert_test", "plan_unittest"]
