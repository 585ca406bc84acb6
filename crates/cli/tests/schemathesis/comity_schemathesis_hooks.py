"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in crates/cli/tests/schemathesis.rs.

CPython 3.11 up to 3.11.7 can raise `SystemError: AST constructor recursion depth mismatch`
from `ast.parse` when Hypothesis parses a large source file to describe a lambda for a
strategy's repr (cpython issue 106905). The description is cosmetic, so a failure to compute
it stands for an unknown lambda instead of ending the run with an internal error.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources._lambda_description


def _lambda_description(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description
