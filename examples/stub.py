"""A stub for trying `perforch generate`: the docstring and its examples say what to write."""


def running_max(values):
    """Return a list whose i-th element is the largest of values[0..i].

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    >>> running_max([])
    []
    >>> running_max([-2, -5, -1])
    [-2, -2, -1]
    """
    raise NotImplementedError
