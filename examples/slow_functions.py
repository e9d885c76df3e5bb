"""Slow but correct functions for trying `perforch optimize`.

Each function's docstring examples are its tests (PerfOrch runs them as doctests) and the
workload PerfOrch measures.
"""


def has_duplicates(items):
    """Return True if any value occurs more than once in ``items``.

    >>> has_duplicates([3, 1, 4, 1, 5])
    True
    >>> has_duplicates([])
    False
    >>> has_duplicates(list(range(1500)))
    False
    """
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j]:
                return True
    return False


def count_primes(n):
    """Count the prime numbers below ``n``.

    >>> count_primes(10)
    4
    >>> count_primes(3000)
    430
    """
    count = 0
    for k in range(2, n):
        is_prime = True
        for d in range(2, k):
            if k % d == 0:
                is_prime = False
                break
        if is_prime:
            count += 1
    return count
