"""Sources the generated-workload tests share: ``has_duplicates`` quadratic and linear, and a
generator whose one duplicate sits two apart (the quadratic loop finds it last; a check of
neighbours never does)."""

QUADRATIC = """def has_duplicates(items):
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j]:
                return True
    return False
"""
LINEAR = "def has_duplicates(items):\n    return len(set(items)) != len(items)\n"
GENERATOR = """def generate_input(size, rng):
    items = rng.sample(range(10 * size + 10), size)
    if size > 2:
        items[-1] = items[-3]  # one duplicate, two apart: the quadratic loop finds it last
    return (items,)
"""
