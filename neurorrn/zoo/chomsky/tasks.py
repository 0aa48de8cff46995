"""The 15 length-generalisation tasks of Delétang et al. (2023), as numpy generators.

Delétang, Ruoss, Grau-Moya, Genewein, Wenliang, Catt, Cundy, Hutter, Legg, Veness & Ortega,
"Neural networks and the Chomsky hierarchy", ICLR 2023 (arXiv:2207.02098).  The task
definitions follow the authors' release (``google-deepmind/neural_networks_chomsky_hierarchy``,
``tasks/``): the same token codes, input/output sizes, output lengths and accuracy masks, with the
paper's defaults (modulus 5, binary strings, bucket-sort vocabulary 5, cycle length 5).

Each task samples a batch of one length:

>>> task = TASKS["parity_check"]()
>>> batch = task.sample(batch_size=4, length=10, random_state=0)
>>> batch.inputs.shape, batch.targets.shape, batch.mask.shape
((4, 10), (4, 1), (4, 1))

``inputs`` and ``targets`` are integer token codes (one-hot them with ``input_size`` /
``output_size``); ``mask`` marks the output positions that count for the per-token accuracy.

Where we differ: the release samples with JAX/Python RNGs; here every task draws from one
``numpy.random.Generator`` (``random_state``), so samples differ but follow the same
distributions.  Large binary numbers are drawn bit by bit (uniform over ``[1, 2**k - 1]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...utils._check import check_option, check_positive, check_random_state

__all__ = ["Batch", "ChomskyTask", "TASKS", "LEVELS", "get_task"]


@dataclass
class Batch:
    """One batch of a task, all sequences of the same input length.

    Attributes
    ----------
    inputs : array of int, shape (batch_size, length)
    targets : array of int, shape (batch_size, output_length)
    mask : array of bool, shape (batch_size, output_length)
        Output positions scored by the per-token accuracy.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


class ChomskyTask:
    """Base class: ``sample`` a batch; ``input_size``, ``output_size``, ``output_length``."""

    name = "task"
    level = "regular"
    input_size = 2
    output_size = 2

    def output_length(self, length: int) -> int:
        return 1

    def sample(self, batch_size: int, length: int, random_state=None) -> Batch:
        """Sample ``batch_size`` sequences of input length ``length``."""
        check_positive(batch_size, "batch_size", integer=True)
        check_positive(length, "length", integer=True)
        rng = check_random_state(random_state)
        inputs, targets = self._sample(rng, batch_size, length)
        inputs = np.ascontiguousarray(np.asarray(inputs, dtype=np.int64).reshape(batch_size, -1))
        targets = np.ascontiguousarray(np.asarray(targets, dtype=np.int64).reshape(batch_size, -1))
        if targets.shape[1] != self.output_length(length):
            raise RuntimeError(f"{self.name}: produced {targets.shape[1]} output tokens for length {length}, "
                               f"expected {self.output_length(length)}")
        return Batch(inputs, targets, self._mask(targets))

    def _mask(self, targets):
        return np.ones(targets.shape, dtype=bool)

    def _sample(self, rng, batch_size, length):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


def _mask_to_termination(targets, token):
    """Positions up to and including the first termination token (as the release)."""
    first = np.argmax(targets == token, axis=1)
    return np.arange(targets.shape[1])[None, :] <= first[:, None]


# ------------------------------------------------------------------------ regular
class EvenPairs(ChomskyTask):
    """Is the number of ``01`` and ``10`` pairs even?  (class 0 if even, 1 if odd)."""

    name, level = "even_pairs", "regular"

    def _sample(self, rng, b, n):
        s = rng.integers(0, 2, (b, n))
        return s, (np.sum(s[:, 1:] != s[:, :-1], axis=1) % 2)


class ModularArithmetic(ChomskyTask):
    """Reduce ``d op d op ... d`` modulo 5 with ``+ - *`` and the usual precedence.

    Tokens: digits 0-4, then ``+ - * _`` (5-8; ``_`` is never sampled).  An even length is
    reduced by one, as in the release.
    """

    name, level = "modular_arithmetic", "regular"
    modulus = 5
    input_size = 9
    output_size = 5

    def sample(self, batch_size, length, random_state=None):  # the input length may shrink by one
        check_positive(batch_size, "batch_size", integer=True)
        check_positive(length, "length", integer=True)
        rng = check_random_state(random_state)
        n = length if length % 2 == 1 else length - 1
        n = max(n, 1)
        digits = rng.integers(0, self.modulus, (batch_size, n // 2 + 1))
        ops = rng.integers(0, 3, (batch_size, n // 2))
        inputs = np.empty((batch_size, n), dtype=np.int64)
        inputs[:, ::2] = digits
        inputs[:, 1::2] = self.modulus + ops
        targets = np.array([[_evaluate_flat(d, o, self.modulus)] for d, o in zip(digits, ops)], dtype=np.int64)
        return Batch(inputs, targets, np.ones(targets.shape, dtype=bool))


def _evaluate_flat(digits, ops, modulus):
    """``d0 o0 d1 o1 ...`` with ``*`` before ``+``/``-`` (ops: 0 '+', 1 '-', 2 '*'), mod ``modulus``."""
    total, term = 0, int(digits[0])
    for op, d in zip(ops, digits[1:]):
        d = int(d)
        if op == 2:
            term = (term * d) % modulus
        else:
            total = (total + term) % modulus
            term = d if op == 0 else (-d) % modulus
    return (total + term) % modulus


class ParityCheck(ChomskyTask):
    """Is the number of ``1`` s even?  (class 0 if even)."""

    name, level = "parity_check", "regular"

    def _sample(self, rng, b, n):
        s = rng.integers(0, 2, (b, n))
        return s, s.sum(1) % 2


class CycleNavigation(ChomskyTask):
    """Final position on a cycle of length 5 after actions ``0: -1, 1: stay, 2: +1``."""

    name, level = "cycle_navigation", "regular"
    input_size = 3
    output_size = 5

    def _sample(self, rng, b, n):
        a = rng.integers(0, 3, (b, n))
        return a, np.sum(a - 1, axis=1) % 5


# ---------------------------------------------------------- deterministic context-free
class StackManipulation(ChomskyTask):
    """Apply ``POP / PUSH 0 / PUSH 1`` (tokens 2/3/4) to a given binary stack.

    The output is the final stack top-to-bottom, then the termination token 2, then 0-padding
    to ``length + 1`` tokens; only positions up to the termination token are scored.
    """

    name, level = "stack_manipulation", "dcf"
    input_size = 5
    output_size = 3

    def output_length(self, length):
        return length + 1

    def _sample(self, rng, b, n):
        X, Y = [], []
        for _ in range(b):
            if n == 1:
                stack = [int(rng.integers(0, 2))]
                expr, result = stack, list(stack)
            else:
                k = int(rng.integers(1, n))
                stack = rng.integers(0, 2, k).tolist()
                actions = rng.integers(2, 5, n - k).tolist()
                cur = list(stack)
                for a in actions:
                    if a == 2:
                        if cur:
                            cur.pop()
                    else:
                        cur.append(a - 3)
                expr, result = stack + actions, cur[::-1]
            result = result + [2]
            X.append(expr)
            Y.append(result + [0] * (n + 1 - len(result)))
        return X, Y

    def _mask(self, targets):
        return _mask_to_termination(targets, 2)


class ReverseString(ChomskyTask):
    """Output the binary input string reversed."""

    name, level = "reverse_string", "dcf"

    def output_length(self, length):
        return length

    def _sample(self, rng, b, n):
        s = rng.integers(0, 2, (b, n))
        return s, s[:, ::-1]


_MAB_CODES = {"+": 5, "-": 6, "*": 7, "(": 8, ")": 9, "x": 10, "=": 11}


def _bracket_expression(rng, modulus, length, mult):
    """Random bracketed expression of exactly ``length`` characters and its value (release)."""
    if length < 1:
        raise ValueError(f"can't generate expressions of length < 1, got {length}")
    if length <= 4:
        d = int(rng.integers(0, modulus))
        return ([str(d), f"-{d}", f"({d})", f"(-{d})"][length - 1],
                [d, -d % modulus, d, -d % modulus][length - 1])
    left = int(rng.integers(1, length - 3))
    right = length - (left + 3)
    ls, lv = _bracket_expression(rng, modulus, left, mult)
    rs, rv = _bracket_expression(rng, modulus, right, mult)
    op = int(rng.integers(0, 3 if mult else 2))
    sym = "+-*"[op]
    val = (lv + rv, lv - rv, lv * rv)[op] % modulus
    return f"({ls}{sym}{rs})", val


class ModularArithmeticBrackets(ChomskyTask):
    """Reduce a bracketed expression with ``+ - *`` modulo 5 (tokens: digits, ``+-*()x=``)."""

    name, level = "modular_arithmetic_brackets", "dcf"
    modulus = 5
    mult = True
    input_size = 11
    output_size = 5

    def _sample(self, rng, b, n):
        X, Y = [], []
        for _ in range(b):
            expr, val = _bracket_expression(rng, self.modulus, n, self.mult)
            X.append([int(c) if c.isdigit() else _MAB_CODES[c] for c in expr])
            Y.append(val)
        return X, Y


class SolveEquation(ChomskyTask):
    """Solve ``expr(x) = v`` (mod 5, ``+``/``-`` and brackets) for the digit replaced by ``x``.

    Tokens: digits 0-4, ``+ - ( ) x =`` = 5-10.  Lengths below 3 give all-zero inputs and
    class 0, as in the release.
    """

    name, level = "solve_equation", "dcf"
    modulus = 5
    input_size = 11
    output_size = 5
    _codes = {"+": 5, "-": 6, "(": 7, ")": 8, "x": 9, "=": 10}

    def _sample(self, rng, b, n):
        if n < 3:
            return np.zeros((b, n), dtype=np.int64), np.zeros(b, dtype=np.int64)
        X, Y = [], []
        for _ in range(b):
            expr, val = _bracket_expression(rng, self.modulus, n - 2, mult=False)
            idx = int(rng.integers(0, len(expr)))
            while not expr[idx].isdigit():
                idx = (idx + 1) % (n - 2)
            solution = int(expr[idx])
            eq = f"{expr[:idx]}x{expr[idx + 1:]}={val}"
            X.append([int(c) if c.isdigit() else self._codes[c] for c in eq])
            Y.append(solution)
        return X, Y


# ----------------------------------------------------------------- context-sensitive
class DuplicateString(ChomskyTask):
    """Output the binary input string twice (``ww``)."""

    name, level = "duplicate_string", "cs"

    def output_length(self, length):
        return 2 * length

    def _sample(self, rng, b, n):
        s = rng.integers(0, 2, (b, n))
        return s, np.concatenate([s, s], axis=1)


class MissingDuplicateString(ChomskyTask):
    """``ww`` with one symbol replaced by 2 (odd lengths padded with 3): output that symbol."""

    name, level = "missing_duplicate_string", "cs"
    input_size = 4

    def _sample(self, rng, b, n):
        if n == 1:
            return np.ones((b, 1), dtype=np.int64), np.ones(b, dtype=np.int64)
        s = rng.integers(0, 2, (b, n // 2))
        dup = np.concatenate([s, s], axis=1)
        idx = rng.integers(0, dup.shape[1], b)
        out = dup[np.arange(b), idx]
        dup[np.arange(b), idx] = 2
        pad = np.full((b, n % 2), 3)
        return np.concatenate([dup, pad], axis=1), out


class OddsFirst(ChomskyTask):
    """Output the symbols at odd (1-based) positions first, then the others."""

    name, level = "odds_first", "cs"

    def output_length(self, length):
        return length

    def _sample(self, rng, b, n):
        s = rng.integers(0, 2, (b, n))
        return s, np.concatenate([s[:, 1::2], s[:, ::2]], axis=1)


def _random_int(rng, n_bits):
    """Uniform integer in ``[1, 2**n_bits - 1]`` (Python int, any size)."""
    while True:
        bits = rng.integers(0, 2, n_bits)
        if bits.any():
            return int("".join(map(str, bits)), 2)


def _little_endian(value, width=0):
    return [int(c) for c in f"{value:b}".zfill(width)[::-1]]


class _BinaryArithmetic(ChomskyTask):
    level = "cs"
    input_size = 3
    output_size = 3

    def _operate(self, a, b):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self, rng, b, n):
        X, Y = [], []
        for _ in range(b):
            if n <= 2:
                num = int(rng.integers(0, 2 ** n - 1))
                expr = _little_endian(num, n)
                res = self._short_result(num, n)
            else:
                ln = int(rng.integers(1, n - 1))
                lm = n - 1 - ln
                a, c = _random_int(rng, ln), _random_int(rng, lm)
                expr = _little_endian(a, ln) + [2] + _little_endian(c, lm)
                res = _little_endian(self._operate(a, c))
            X.append(expr)
            Y.append(res + [2] + [0] * (self.output_length(n) - 1 - len(res)))
        return X, Y

    def _mask(self, targets):
        return _mask_to_termination(targets, 2)


class BinaryAddition(_BinaryArithmetic):
    """``a 2 b`` in little-endian binary -> ``a + b`` little-endian, termination 2, 0-padding."""

    name = "binary_addition"

    def output_length(self, length):
        return length + 1

    def _operate(self, a, b):
        return a + b

    def _short_result(self, num, n):
        return _little_endian(num)


class BinaryMultiplication(_BinaryArithmetic):
    """``a 2 b`` in little-endian binary -> ``a * b`` little-endian, termination 2, 0-padding."""

    name = "binary_multiplication"

    def output_length(self, length):
        return length

    def _operate(self, a, b):
        return a * b

    def _short_result(self, num, n):
        return [0] * (n - 1)


class ComputeSqrt(ChomskyTask):
    """Floor of the square root of a big-endian binary number, in ``ceil(n/2)`` bits."""

    name, level = "compute_sqrt", "cs"

    def output_length(self, length):
        return math.ceil(length / 2)

    def _sample(self, rng, b, n):
        X, Y = [], []
        for _ in range(b):
            num = _random_int(rng, n)
            X.append([int(c) for c in f"{num:b}".zfill(n)])
            Y.append([int(c) for c in f"{math.isqrt(num):b}".zfill(self.output_length(n))])
        return X, Y


class BucketSort(ChomskyTask):
    """Sort a string over the alphabet ``0..4``."""

    name, level = "bucket_sort", "cs"
    input_size = 5
    output_size = 5

    def output_length(self, length):
        return length

    def _sample(self, rng, b, n):
        s = rng.integers(0, 5, (b, n))
        return s, np.sort(s, axis=1)


#: Name -> task class, in the paper's order (regular, DCF, CS).
TASKS = {cls.name: cls for cls in (
    EvenPairs, ModularArithmetic, ParityCheck, CycleNavigation,
    StackManipulation, ReverseString, ModularArithmeticBrackets, SolveEquation,
    DuplicateString, MissingDuplicateString, OddsFirst, BinaryAddition, BinaryMultiplication,
    ComputeSqrt, BucketSort)}
#: Chomsky-hierarchy level of each task.
LEVELS = {name: cls.level for name, cls in TASKS.items()}


def get_task(name: str) -> ChomskyTask:
    """Instantiate a task by name (see :data:`TASKS`)."""
    check_option(name, list(TASKS), "task")
    return TASKS[name]()
